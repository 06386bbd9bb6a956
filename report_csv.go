package ragvsft

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{
	"arm", "question_id", "question", "gold", "answer", "correct", "type", "extracted", "expected", "reason",
	"gold_rank", "retrieved_ids", "latency_ms", "prompt_tokens", "completion_tokens", "model", "error",
	"cached_prompt_tokens", "cached", "cost_usd",
}

// WriteCSV writes one row per item (arm and question), in the order of
// Results, with a header row. retrieved_ids joins the context's document ids
// with spaces, best first; gold_rank is -1 when the gold document was not
// retrieved; type is the answer type the verdict compared (Verdict.Type);
// cost_usd is the item's cost (empty until ApplyPrices).
//
// When the report is priced, cost rows follow the items, told apart by an
// empty question_id: arm "fine-tuning" (model: the base model,
// prompt_tokens: the trained tokens), "embeddings" (model: the embedding
// model, prompt_tokens: the billed tokens), "judge" (model: the judge
// model, prompt_tokens: its prompt tokens) and "total" (every cost of the
// run, TotalCostUSD).
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
			strconv.Itoa(res.Usage.CachedPromptTokens), strconv.FormatBool(res.Cached), r.csvCost(res.CostUSD),
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("ragvsft: writing CSV: %w", err)
		}
	}
	for _, row := range r.csvCostRows() {
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

// csvColumn is the index of the column named name.
func csvColumn(name string) int {
	return slices.Index(csvHeader, name)
}

// csvCost formats a cost for WriteCSV: empty when the report is not priced.
func (r *Report) csvCost(usd float64) string {
	if r.Pricing == "" {
		return ""
	}
	return strconv.FormatFloat(usd, 'f', 6, 64)
}

// csvCostRows are the rows after the items of a priced report.
func (r *Report) csvCostRows() [][]string {
	if r.Pricing == "" {
		return nil
	}
	row := func(what, model, tokens string, usd float64) []string {
		out := make([]string, len(csvHeader))
		out[csvColumn("arm")], out[csvColumn("prompt_tokens")], out[csvColumn("model")], out[csvColumn("cost_usd")] = what, tokens, model, r.csvCost(usd)
		return out
	}
	var rows [][]string
	if ft := r.FineTune; ft != nil {
		rows = append(rows, row("fine-tuning", r.Settings.BaseModel, strconv.Itoa(ft.TrainedTokens), r.FineTuneCostUSD))
	}
	if e := r.Embedding; e != nil {
		rows = append(rows, row("embeddings", e.Model, strconv.Itoa(e.Usage.PromptTokens), e.CostUSD))
	}
	if j := r.Judge; j != nil {
		rows = append(rows, row("judge", j.Model, strconv.Itoa(j.Usage.PromptTokens), j.CostUSD))
	}
	return append(rows, row("total", "", "", r.TotalCostUSD()))
}
