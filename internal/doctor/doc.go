// Package doctor checks an account and leaf-import's assumptions about Leaf (the contract's
// list of what it could not know from Leaf's documentation): TLS, authentication, the clock,
// the paging and rate-limit headers, the page size, the owner's apps, and with a probe grower
// created, measured and deleted, how soon a new user shows by id, by externalId and in the paged
// list, whether the externalId filter is exact, whether PATCH works, and how a missing
// credential answers. What it measures (the list lag, PATCH) is saved in the account's
// workspace for the runs that follow.
//
// A doctor that writes runs in the run shell of package lifecycle: the account's lock, what
// earlier runs left in doubt settled, and its probe's create, update and delete journaled in a
// run of its own (through exec.Send), so that the next run of the account deletes a probe a
// killed doctor left even while Leaf's lists do not show it.
package doctor
