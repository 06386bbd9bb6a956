// Package clock reads RAGVSFT_TODAY, the override of the day that ragvsft's
// model catalog checks its shutdown dates against. The library's OpenAI
// config, the test server ragvsfttest and the programs all read it here, so
// that they agree on the day.
package clock

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Env names the variable: a day as YYYY-MM-DD, e.g. 2027-01-15 to see what
// OpenAI's shutdowns of that month will do. Unset or empty means today.
const Env = "RAGVSFT_TODAY"

// Today returns the day in RAGVSFT_TODAY, at midnight UTC, or time.Now()
// when it is unset or empty. A value that is not a YYYY-MM-DD day is an
// error naming the variable and the value.
func Today() (time.Time, error) {
	v := strings.TrimSpace(os.Getenv(Env))
	if v == "" {
		return time.Now(), nil
	}
	day, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s=%q is not a day as YYYY-MM-DD (e.g. 2027-01-15)", Env, v)
	}
	return day, nil
}
