package cli

import "testing"

func TestShortCommit(t *testing.T) {
	tests := []struct{ test, in, want string }{
		{"full hash", "da2a2b2c0ffee0123456789abcdef0123456789a", "da2a2b2c0ffe"},
		{"dirty", "da2a2b2c0ffee0123456789abcdef0123456789a-dirty", "da2a2b2c0ffe-dirty"},
		{"short already", "da2a2b2", "da2a2b2"},
		{"none", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.test, func(t *testing.T) {
			if got := shortCommit(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
