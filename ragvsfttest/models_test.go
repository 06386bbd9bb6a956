package ragvsfttest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func listIDs(t *testing.T, c *openai.Client) []string {
	t.Helper()
	page, err := c.Models.List(context.Background())
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		assert.Equal(t, "model", string(m.Object))
		ids = append(ids, m.ID)
	}
	return ids
}

func TestModels(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	c := newClient(s)
	ctx := context.Background()
	ids := listIDs(t, c)
	for _, id := range []string{ragvsft.DefaultBaseModel, "gpt-4.1-mini", "gpt-4o-mini-2024-07-18", reasoner, "text-embedding-3-small"} {
		assert.Contains(t, ids, id)
	}
	for _, id := range []string{"gpt-3.5-turbo", "o4-mini", "gpt-4.1-nano"} {
		assert.NotContains(t, ids, id, "shut down on 2026-10-23")
	}

	for _, id := range []string{ragvsft.DefaultBaseModel, "gpt-4.1-mini-2099-01-01", reasoner, "text-embedding-3-large"} {
		m, err := c.Models.Get(ctx, id)
		require.NoError(t, err, id)
		assert.Equal(t, id, m.ID)
		assert.Equal(t, "system", m.OwnedBy)
	}

	tests := []struct {
		id, message string
	}{
		{"gpt-3.5-turbo", "The model `gpt-3.5-turbo` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations"},
		{"ft:gpt-4o-mini-2024-07-18:ragvsft::nope", "The model `ft:gpt-4o-mini-2024-07-18:ragvsft::nope` does not exist or you do not have access to it."},
		{"gpt-9-imaginary", "The model `gpt-9-imaginary` does not exist or you do not have access to it."},
	}
	for _, tt := range tests {
		_, err := c.Models.Get(ctx, tt.id)
		e := asAPIError(t, err)
		assert.Equal(t, http.StatusNotFound, e.StatusCode)
		assert.Equal(t, "model_not_found", e.Code)
		assert.Equal(t, tt.message, e.Message)
	}

	// Before its shutdown, gpt-3.5-turbo was listed.
	before := newServer(t, ServerConfig{Now: func() time.Time { return time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC) }})
	assert.Contains(t, listIDs(t, newClient(before)), "gpt-3.5-turbo")
}

// With no ServerConfig.Now, the server's day is RAGVSFT_TODAY's, as the
// library's: the default model answers the day before its shutdown and is
// refused on it.
func TestServerDayFromEnvironment(t *testing.T) {
	s := NewOpenAIServer(ServerConfig{APIKey: testKey, JobStepDelay: 5 * time.Millisecond})
	t.Cleanup(s.Close)
	body := chatBody(ragvsft.DefaultBaseModel, "What is the population of City_1?", "")
	for today, status := range map[string]int{"2027-01-13": http.StatusOK, "2027-01-14": http.StatusNotFound} {
		t.Setenv("RAGVSFT_TODAY", today)
		code, resp := postRaw(t, s, "/chat/completions", body)
		assert.Equal(t, status, code, "%s: %s", today, resp)
	}
}
