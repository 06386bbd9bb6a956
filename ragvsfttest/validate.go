package ragvsfttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ragvsft/ragvsft"
)

// minExamples is OpenAI's minimum number of training examples.
const minExamples = 10

// validateTrainingFile checks an uploaded chat fine-tuning file with
// OpenAI's rules (ragvsft.ReadJSONL) and returns its examples, or the error
// a job fails with. param names the file's role: "training_file" or
// "validation_file".
func validateTrainingFile(content []byte, fileID, param string) (*ragvsft.JSONLDataset, *JobError) {
	what := strings.ReplaceAll(param, "_", " ")
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(content), fileID)
	n := 0
	switch {
	case errors.Is(err, ragvsft.ErrEmptyDataset):
	case err != nil:
		msg := strings.TrimPrefix(err.Error(), "ragvsft: ")
		var ve *ragvsft.ValidationError
		if errors.As(err, &ve) && len(ve.Problems) > 0 {
			msg = ve.Problems[0].String()
			if more := len(ve.Problems) + ve.Omitted - 1; more > 0 {
				msg += fmt.Sprintf(" (and %d more problems)", more)
			}
		}
		return nil, &JobError{
			Code:    "invalid_training_file",
			Param:   param,
			Message: fmt.Sprintf("The job failed due to an invalid %s. Invalid file format: %s", what, msg),
		}
	default:
		n = ds.Len()
	}
	if n < minExamples {
		return nil, &JobError{
			Code:    "invalid_n_examples",
			Param:   param,
			Message: fmt.Sprintf("The job failed due to an invalid %s. %s has %d example(s), but must have at least %d examples", what, upperFirst(what), n, minExamples),
		}
	}
	return ds, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// messageText reads a message content that is a string or a list of text
// parts, as OpenAI accepts both.
func messageText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", false
		}
		b.WriteString(p.Text)
	}
	return b.String(), true
}

// approxTokens estimates a text's token count as OpenAI's tokenizers do on
// English prose: about four characters per token.
func approxTokens(s string) int {
	if s == "" {
		return 0
	}
	return max(1, (utf8.RuneCountInString(s)+3)/4)
}

// approxTokensDataset estimates one epoch's tokens, with the few tokens
// each message costs in the chat format.
func approxTokensDataset(d ragvsft.Dataset) int {
	n := 0
	for _, ex := range d.Examples() {
		for _, m := range ex.Messages {
			n += 4 + approxTokens(m.Content)
		}
		n += 3
	}
	return n
}
