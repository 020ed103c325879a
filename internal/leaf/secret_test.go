package leaf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSecretNeverShowsItsValue(t *testing.T) {
	const canary = "CANARY-secret-7f3a"
	s := Secret(canary)
	type holder struct {
		S Secret
		P *Secret
		M map[string]Secret
	}
	h := holder{S: s, P: &s, M: map[string]Secret{"k": s}}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(s), s.String())
	j, err := json.Marshal(h)
	assert.NoError(t, err)
	outs = append(outs, string(j))
	tx, _ := s.MarshalText()
	outs = append(outs, string(tx))
	var buf bytes.Buffer
	for _, hnd := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(hnd).Info("msg", "secret", s, "holder", h, slog.Any("any", s))
	}
	outs = append(outs, buf.String())
	for _, o := range outs {
		assert.NotContains(t, o, canary)
		assert.NotContains(t, strings.ToLower(o), strings.ToLower(fmt.Sprintf("%x", canary)))
	}
	assert.Equal(t, canary, s.Reveal())
}

func TestFieldsWithKeepsOrder(t *testing.T) {
	var fs Fields
	fs = fs.With("b", "2").With("a", "1").With("c", "3").With("b", "22")
	assert.Equal(t, []string{"a", "b", "c"}, fs.Names())
	assert.Equal(t, "22", fs.Value("b").Reveal())
	assert.False(t, fs.Has("d"))
}
