package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestToday(t *testing.T) {
	t.Run("set", func(t *testing.T) {
		t.Setenv(Env, " 2027-01-15 ")
		day, err := Today()
		require.NoError(t, err)
		assert.Equal(t, time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), day)
	})
	t.Run("unset", func(t *testing.T) {
		t.Setenv(Env, "")
		before := time.Now()
		day, err := Today()
		require.NoError(t, err)
		assert.False(t, day.Before(before), "an empty %s means now", Env)
	})
	for _, bad := range []string{"2027-1-15", "15/01/2027", "2027-02-30", "tomorrow"} {
		t.Run(bad, func(t *testing.T) {
			t.Setenv(Env, bad)
			_, err := Today()
			require.Error(t, err)
			assert.Contains(t, err.Error(), Env+`="`+bad+`"`)
		})
	}
}
