package ragvsft

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A server that accepts and never answers must not hang a run: every
// request is bounded unless the caller says otherwise.
func TestRequestTimeoutIsOnByDefault(t *testing.T) {
	assert.Equal(t, DefaultRequestTimeout, OpenAIConfig{}.requestTimeout())
	assert.Equal(t, 5*time.Second, OpenAIConfig{RequestTimeout: 5 * time.Second}.requestTimeout())
	assert.Zero(t, OpenAIConfig{RequestTimeout: -1}.requestTimeout(), "negative: no bound")
}
