package reportfmt

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{Rate(0.125, true), "12.5%"},
		{Rate(0, false), "n/a"},
		{Interval(0.0158, 0.75, true), "1.6% – 75.0%"},
		{Interval(0, 0, false), "n/a"},
		{P(0.03125), "0.0313"},
		{P(1), "1.0000"},
		{P(2.5e-5), "2.5e-05"},
		{P(0), "0.0000"},
		{Group("held_out"), "held-out"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.got)
	}
}
