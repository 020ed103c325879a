package leaf

import "context"

// Snapshot is the Leaf state a plan is computed from: every user with its embedded credentials,
// and the app registrations of the providers asked for.
type Snapshot struct {
	Users []User
	// AppKeys holds the app registrations by canonical provider name, for the providers read.
	AppKeys map[string][]AppKey
	// Requests counts the attempts the read took (retries included, authentication excluded).
	Requests int
	// Configs holds the users' own configurations that were read, by user id: only those a
	// plan needs (see plan.ConfigReads), never one per user by default.
	Configs map[string]UserConfig
}

// ReadRequests is the number of requests a read of users users and appProviders providers
// takes when nothing fails: the pages of users (at least one) and one per app provider.
func ReadRequests(users, appProviders int) int {
	pages := (users + UsersPageSize - 1) / UsersPageSize
	return max(pages, 1) + appProviders
}

// Snapshot reads the state: all users in pages of 100 (credentials come embedded) and
// GET /app-keys/{P} for each of appProviders. It sends ceil(users/100) + len(appProviders)
// requests when nothing fails, never one per user.
func (c *Client) Snapshot(ctx context.Context, appProviders []*Provider) (*Snapshot, error) {
	var stats CallStats
	ctx = WithCallStats(ctx, &stats)
	users, err := c.ListUsers(ctx, UserFilter{})
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Users: users, AppKeys: map[string][]AppKey{}}
	for _, p := range appProviders {
		apps, err := c.ListAppKeys(ctx, p)
		if err != nil {
			return nil, err
		}
		s.AppKeys[p.Name] = apps
	}
	s.Requests = stats.Attempts
	return s, nil
}
