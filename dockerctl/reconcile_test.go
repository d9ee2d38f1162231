package dockerctl

import (
	"testing"
)

func TestParseSHA256Sum(t *testing.T) {
	out := "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  /x/y/f\n" +
		`\3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  /x/new\nline\\b` + "\n" +
		"garbage\n"
	m := parseSHA256Sum([]byte(out))
	if len(m) != 2 || m["/x/y/f"] == "" || m["/x/new\nline\\b"] == "" {
		t.Errorf("%q", m)
	}
}
