package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// format is an output format that a --format flag names.
type format string

const (
	formatText     format = "text"
	formatJSON     format = "json"
	formatCSV      format = "csv"
	formatYAML     format = "yaml"
	formatMarkdown format = "markdown"
	formatHTML     format = "html"
)

// choice is a flag whose value is one of a fixed set of typed values: anything else is refused
// as the flags are parsed (exit 1, naming the flag and the values it takes), so that a command
// only ever sees a known value.
type choice[T ~string] struct {
	p       *T
	allowed []T
}

// choiceVar defines flag name on fl, set to def and taking one of allowed.
func choiceVar[T ~string](fl *pflag.FlagSet, p *T, name string, def T, usage string, allowed ...T) {
	*p = def
	fl.Var(&choice[T]{p: p, allowed: allowed}, name, usage)
}

func (c *choice[T]) String() string { return string(*c.p) }

func (c *choice[T]) Set(s string) error {
	if v := T(s); slices.Contains(c.allowed, v) {
		*c.p = v
		return nil
	}
	names := make([]string, len(c.allowed))
	for i, a := range c.allowed {
		names[i] = string(a)
	}
	return fmt.Errorf("must be %s", strings.Join(names, ", "))
}

func (c *choice[T]) Type() string { return "string" }
