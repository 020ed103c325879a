package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// defaultRate is --rate when none is given: 10 requests a second, 60% of Leaf's documented
// 1,000 a minute, so that a nightly run leaves the rest of the account's limit to the
// customer's own application, which shares it.
const defaultRate = 10

// rateFlag is --rate: a ceiling in requests per second (0 for none: the sandbox), or "auto",
// which looks for the account's limit and paces just under it.
type rateFlag struct {
	auto      bool
	perSecond float64
}

var _ pflag.Value = (*rateFlag)(nil)

func (r *rateFlag) String() string {
	if r.auto {
		return "auto"
	}
	return strconv.FormatFloat(r.perSecond, 'f', -1, 64)
}

func (r *rateFlag) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		*r = rateFlag{auto: true}
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil:
		return fmt.Errorf("want requests per second (0 for no limit) or auto, not %q", s)
	case v < 0 || v != v:
		return fmt.Errorf("must be 0 (no limit) or more, or auto, not %v", s)
	}
	*r = rateFlag{perSecond: v}
	return nil
}

func (r *rateFlag) Type() string { return "rate" }

// registerRate adds --rate to fs, set to the default.
func registerRate(fs *pflag.FlagSet, r *rateFlag, usage string) {
	*r = rateFlag{perSecond: defaultRate}
	fs.Var(r, "rate", usage+` ("auto" looks for the account's limit and paces just under it; 0 = no limit, for the sandbox)`)
}

// estimate is the rate a plan's time estimate is computed at: the ceiling, or for auto the
// pace it starts from.
func (r rateFlag) estimate(start float64) float64 {
	if !r.auto {
		return r.perSecond
	}
	if start > 0 {
		return start
	}
	return leaf.LeafDocumentedRate
}

// pacer builds the pacer of this flag; start is the pace an earlier auto run of the account
// learned (0: none).
func (r rateFlag) pacer(start float64) *leaf.Pacer {
	if r.auto {
		return leaf.NewAutoPacer(start, 2, nil)
	}
	return leaf.NewPacer(r.perSecond, 2, nil)
}
