package ragvsft

import (
	"bytes"
	"encoding/json"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// report.json is streamed, and is what json.MarshalIndent writes.
func TestWriteReportJSONIsMarshalIndent(t *testing.T) {
	full := &Report{Settings: ReportSettings{K: 5, Arms: AllArms}, Complete: true, Results: []Result{
		{Arm: ArmRAG, QuestionID: "line 1", Question: "<b>What & who?</b>", Answer: "Müller \u2028 \"quoted\"", GoldRank: 0,
			Retrieved: []RetrievedDoc{{ID: "d1", Rank: 0, Score: 0.5, Text: "a\nb"}}, Verdict: Verdict{Correct: true}},
		{Arm: ArmBase, QuestionID: "line 2", GoldRank: -1, Error: "upstream said 503", Outcome: OutcomeError},
	}}
	full.summarize()
	for name, rep := range map[string]*Report{
		"results":    full,
		"one result": {Results: full.Results[:1]},
		"empty":      {Results: []Result{}},
		"nil":        {},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := json.MarshalIndent(rep, "", "  ")
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, writeReportJSON(&got, rep))
			assert.Equal(t, string(want)+"\n", got.String())
		})
	}
}

// BenchmarkReportJSON: report.json of 100,000 results (400,000 would be the
// four arms of 100k questions; the ratio is the same) written whole from
// memory, as before, and streamed. peak-MB is the largest heap in use seen
// while writing, above the report itself (sampled every millisecond).
func BenchmarkReportJSON(b *testing.B) {
	rep := &Report{Results: make([]Result, 100_000)}
	for i := range rep.Results {
		rep.Results[i] = Result{Arm: ArmRAG, QuestionID: "line " + string(rune('0'+i%10)), Question: "What is the population of City_17?",
			Answer: "City_17 has a population of 1,967,825.", Retrieved: []RetrievedDoc{
				{ID: "d1", Text: "City_17 has a population of 1,967,825."}, {ID: "d2", Rank: 1, Text: "City_18 has a population of 2,967,825."}}}
	}
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		peak := heapPeak(b, func() {
			out, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = discard{}.Write(append(out, '\n'))
		})
		b.ReportMetric(peak, "peak-MB")
	})
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		peak := heapPeak(b, func() {
			if err := writeReportJSON(discard{}, rep); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(peak, "peak-MB")
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// heapPeak runs fn b.N times and returns the largest heap in use seen
// while it ran, above what was in use before, in MB.
func heapPeak(b *testing.B, fn func()) float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
				peak.Store(m.HeapInuse - base)
			}
		}
	}()
	for b.Loop() {
		fn()
	}
	close(stop)
	<-done
	return float64(peak.Load()) / 1e6
}
