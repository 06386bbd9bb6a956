package ragvsft

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ragvsft/ragvsft/internal/localmodel"
)

func TestLocalDevSweep(t *testing.T) {
	if os.Getenv("LOCALDEV") == "" {
		t.Skip()
	}
	comp, _ := os.ReadFile("testdata/companies.jsonl")
	for _, name := range []string{"cities", "companies"} {
		data := parseJSONLForTest(t, CitiesJSONL(100, 42))
		if name == "companies" {
			data = parseJSONLForTest(t, comp)
		}
		qs := questionsOf(data)
		rag := 0
		for i, q := range qs {
			resp, _ := NewLocalModel().Chat(context.Background(), ragRequest(q.question, passagesWithGold(qs, i)))
			if articleCorrect(resp.Content, q.gold) {
				rag++
			} else {
				t.Logf("RAG miss: %s -> %s", q.question, resp.Content)
			}
		}
		t.Logf("%s rag %d/%d", name, rag, len(qs))
		for _, ep := range []int{1, 2, 3, 5, 10, 20, 30} {
			start := time.Now()
			var losses []string
			ft, _ := LocalFineTuner{OnEpoch: func(e int, l float64) { losses = append(losses, fmt.Sprintf("%.2f", l)) }}.FineTune(context.Background(), FineTuneRequest{
				Training: data, Hyperparameters: Hyperparameters{Epochs: ep}, Seed: 42,
			})
			m := ft.Model.(*LocalModel)
			el := time.Since(start)
			c, a := closedBookAccuracy(t, m, qs)
			raw := 0
			var gms []float64
			for _, q := range qs {
				g, _ := m.mem.Generate(context.Background(), fmt.Sprintf(testClosedFmt, q.question), localmodel.GenerateOptions{MaxTokens: 100})
				ans := strings.Join(g.Tokens, "")
				if articleCorrect(ans, q.gold) {
					raw++
				}
				gms = append(gms, math.Exp(g.MeanLogProb))
			}
			sort.Float64s(gms)
			t.Logf("%s epochs %d: correct %d abstained %d raw %d gm q10/50/90 %.2f %.2f %.2f (train %v) loss %v", name, ep, c, a, raw, gms[10], gms[50], gms[90], el, losses[len(losses)-1])
		}
	}
}
