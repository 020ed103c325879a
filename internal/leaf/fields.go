package leaf

import "slices"

// Field is one named value of a credential or an app registration. Values are Secrets so that
// no code path can print one by accident; Reveal is called where a value must go on the wire or
// where the provider table says the field is not secret.
type Field struct {
	Name  string
	Value Secret
}

// Fields is a small set of named values kept sorted by name. A slice beats a map here: a
// credential has at most a handful of fields and a migration holds hundreds of thousands of them.
type Fields []Field

// Get returns the value of name and whether it is present.
func (fs Fields) Get(name string) (Secret, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// Value returns the value of name, "" when absent.
func (fs Fields) Value(name string) Secret {
	v, _ := fs.Get(name)
	return v
}

// Has reports whether name is present.
func (fs Fields) Has(name string) bool {
	_, ok := fs.Get(name)
	return ok
}

// With returns fs with name set to v, keeping the order by name.
func (fs Fields) With(name string, v Secret) Fields {
	i, found := slices.BinarySearchFunc(fs, name, func(f Field, n string) int {
		switch {
		case f.Name < n:
			return -1
		case f.Name > n:
			return 1
		}
		return 0
	})
	if found {
		out := slices.Clone(fs)
		out[i].Value = v
		return out
	}
	return slices.Insert(slices.Clip(fs), i, Field{Name: name, Value: v})
}

// Names returns the field names in order.
func (fs Fields) Names() []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// Set replaces the value of an existing field in place and reports whether it was there.
func (fs Fields) Set(name string, v Secret) bool {
	for i := range fs {
		if fs[i].Name == name {
			fs[i].Value = v
			return true
		}
	}
	return false
}

// SortFields orders fields by name in place (insertion sort: a credential has a handful) and
// returns them as Fields. Names must be unique.
func SortFields(fs []Field) Fields {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Name < fs[j-1].Name; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
	return fs
}

// FieldsFromMap builds sorted Fields from a map of revealed values.
func FieldsFromMap(m map[string]string) Fields {
	out := make([]Field, 0, len(m))
	for k, v := range m {
		out = append(out, Field{Name: k, Value: Secret(v)})
	}
	return SortFields(out)
}

// revealMap returns the revealed values as a map, for a request body.
func (fs Fields) revealMap() map[string]any {
	m := make(map[string]any, len(fs))
	for _, f := range fs {
		m[f.Name] = f.Value.Reveal()
	}
	return m
}
