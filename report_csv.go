package ragvsft

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{
	"arm", "question_id", "question", "gold", "answer", "correct", "type", "extracted", "expected", "reason",
	"gold_rank", "retrieved_ids", "latency_ms", "prompt_tokens", "completion_tokens", "model", "error",
}

// WriteCSV writes one row per item (arm and question), in the order of
// Results, with a header row. retrieved_ids joins the context's document ids
// with spaces, best first; gold_rank is -1 when the gold document was not
// retrieved; type is the answer type the verdict compared (Verdict.Type).
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("ragvsft: writing CSV: %w", err)
	}
	for _, res := range r.Results {
		ids := make([]string, len(res.Retrieved))
		for i, d := range res.Retrieved {
			ids[i] = d.ID
		}
		row := []string{
			string(res.Arm), res.QuestionID, res.Question, res.Gold, res.Answer,
			strconv.FormatBool(res.Verdict.Correct), res.Verdict.Type, res.Verdict.Extracted, res.Verdict.Expected, res.Verdict.Reason,
			strconv.Itoa(res.GoldRank), strings.Join(ids, " "),
			strconv.FormatFloat(float64(res.Latency.Microseconds())/1000, 'f', 3, 64),
			strconv.Itoa(res.Usage.PromptTokens), strconv.Itoa(res.Usage.CompletionTokens), res.Model, res.Error,
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("ragvsft: writing CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("ragvsft: writing CSV: %w", err)
	}
	return nil
}
