// Command pgbench measures the pgvector Retriever on clustered vectors:
// the time to upsert them, the time to build the HNSW index, and for each
// ef_search setting the recall@k against exact search and the p50/p95
// latency of one Retrieve, one query at a time.
//
//	go run ./internal/pgbench -pg "$RAGVSFT_PG_DSN" -n 100000 -dims 384 -ef 40,100
//
// The vectors come from internal/vecgen (documents on -clusters topics); the
// queries are drawn from the same clusters but are not documents. The
// embedding function only looks the vectors up, so what is timed is the
// database and the round trip. It writes the table -table, dropped first.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/vecgen"
	"github.com/ragvsft/ragvsft/pgvector"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pgbench:", err)
		os.Exit(1)
	}
}

// space is the benchmark's embedding: "d<i>" is document i, "q<i>" query i.
type space struct{ docs, queries [][]float32 }

func (s *space) embed(_ context.Context, text string) ([]float32, error) {
	if len(text) < 2 {
		return nil, fmt.Errorf("no vector for %q", text)
	}
	i, err := strconv.Atoi(text[1:])
	switch {
	case err != nil:
	case text[0] == 'd' && i < len(s.docs):
		return s.docs[i], nil
	case text[0] == 'q' && i < len(s.queries):
		return s.queries[i], nil
	}
	return nil, fmt.Errorf("no vector for %q", text)
}

func (s *space) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, err := s.embed(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pgbench", flag.ContinueOnError)
	var (
		dsn      = fs.String("pg", os.Getenv("RAGVSFT_PG_DSN"), "PostgreSQL `DSN` (default $RAGVSFT_PG_DSN); add maintenance_work_mem=1GB to build the index in memory")
		table    = fs.String("table", "ragvsft_bench", "table to (re)create")
		n        = fs.Int("n", 100000, "documents")
		dims     = fs.Int("dims", 384, "dimensions")
		clusters = fs.Int("clusters", 100, "topics the vectors cluster around")
		spread   = fs.Float64("spread", 0.05, "per-dimension noise around a topic's centre (0.05 at 384 dimensions: cosine ~0.5 within a topic)")
		queries  = fs.Int("queries", 500, "queries")
		k        = fs.Int("k", 5, "hits per query")
		efs      = fs.String("ef", "40,100", "comma-separated hnsw.ef_search settings")
		m        = fs.Int("m", 0, "HNSW m (0 = pgvector's 16)")
		efc      = fs.Int("ef-construction", 0, "HNSW ef_construction (0 = pgvector's 64)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("-pg DSN (or RAGVSFT_PG_DSN) is required")
	}
	var efSearch []int
	for f := range strings.SplitSeq(*efs, ",") {
		ef, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-ef: %w", err)
		}
		efSearch = append(efSearch, ef)
	}
	if *n <= 0 || *queries <= 0 || *k <= 0 || *dims <= 0 || *clusters <= 0 {
		return errors.New("-n, -queries, -k, -dims and -clusters must be positive")
	}

	start := time.Now()
	all := vecgen.Clustered(*n+*queries, *dims, *clusters, *spread, 1)
	sp := &space{docs: all[:*n], queries: all[*n:]}
	docs := make([]ragvsft.Document, *n)
	for i := range docs {
		docs[i] = ragvsft.Document{ID: fmt.Sprintf("doc-%07d", i), Text: "d" + strconv.Itoa(i)}
	}
	qs := make([]string, *queries)
	for i := range qs {
		qs[i] = "q" + strconv.Itoa(i)
	}
	fmt.Fprintf(stdout, "%d documents and %d queries, %d dimensions, %d clusters, spread %g: generated in %s\n",
		*n, *queries, *dims, *clusters, *spread, time.Since(start).Round(time.Millisecond))

	cpu, err := newServerCPU(ctx, *dsn)
	if err != nil {
		return err
	}
	if err := dropTable(ctx, *dsn, *table); err != nil {
		return err
	}
	hnsw := pgvector.HNSW{M: *m, EfConstruction: *efc}
	opts := pgvector.Options{Table: *table, Embed: sp.embed, EmbedBatch: sp.embedBatch, Model: "vecgen", HNSW: hnsw}
	exactOpts := opts
	exactOpts.Exact = true
	exact, err := pgvector.Open(ctx, *dsn, exactOpts)
	if err != nil {
		return err
	}
	defer exact.Close()

	load, loadCPU, err := cpu.timed(func() error { return exact.Index(ctx, docs) })
	if err != nil {
		return err
	}
	noop, noopCPU, err := cpu.timed(func() error { return exact.Index(ctx, docs) })
	if err != nil {
		return err
	}
	approx, err := pgvector.Open(ctx, *dsn, opts)
	if err != nil {
		return err
	}
	build, buildCPU, err := cpu.timed(func() error { return approx.Index(ctx, docs) })
	approx.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "| Index step | wall | server CPU |\n|---|---:|---:|\n")
	fmt.Fprintf(stdout, "| upsert %d documents (batches of 512, no index) | %s | %s |\n", *n, fmtDur(load), loadCPU)
	fmt.Fprintf(stdout, "| Index again, nothing to do | %s | %s |\n", fmtDur(noop), noopCPU)
	fmt.Fprintf(stdout, "| Index again, building HNSW m=%d ef_construction=%d | %s | %s |\n\n",
		cmp.Or(*m, pgvector.DefaultM), cmp.Or(*efc, pgvector.DefaultEfConstruction), fmtDur(build), buildCPU)

	truth, exactLat, exactCPU, err := measure(ctx, cpu, exact, qs, *k)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "| search, %d queries one at a time | recall@%d | p50 | p95 | mean | server CPU per query |\n|---|---:|---:|---:|---:|---:|\n", len(qs), *k)
	fmt.Fprintf(stdout, "| exact (every row) | 1.000 | %s | %s | %s | %s |\n", pct(exactLat, 50), pct(exactLat, 95), mean(exactLat), exactCPU)
	for _, ef := range efSearch {
		o := opts
		o.HNSW.EfSearch = ef
		r, err := pgvector.Open(ctx, *dsn, o)
		if err != nil {
			return err
		}
		hits, lat, perQuery, err := measure(ctx, cpu, r, qs, *k)
		r.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "| HNSW ef_search=%d | %.3f | %s | %s | %s | %s |\n", ef, recall(truth, hits), pct(lat, 50), pct(lat, 95), mean(lat), perQuery)
	}
	return nil
}

// measure retrieves for every query, one at a time, after a warm-up pass
// over the first tenth of them, and returns the hits' IDs, each query's
// latency and the server's CPU time per query.
func measure(ctx context.Context, cpu *serverCPU, r *pgvector.Retriever, qs []string, k int) ([][]string, []time.Duration, string, error) {
	for _, q := range qs[:max(len(qs)/10, 1)] {
		if _, err := r.Retrieve(ctx, q, k); err != nil {
			return nil, nil, "", err
		}
	}
	ids := make([][]string, len(qs))
	lat := make([]time.Duration, len(qs))
	_, used, err := cpu.timed(func() error {
		for i, q := range qs {
			start := time.Now()
			hits, err := r.Retrieve(ctx, q, k)
			lat[i] = time.Since(start)
			if err != nil {
				return err
			}
			for _, h := range hits {
				ids[i] = append(ids[i], h.Document.ID)
			}
		}
		return nil
	})
	return ids, lat, used.per(len(qs)), err
}

// recall is the share of the true top k that the approximate search found.
func recall(truth, got [][]string) float64 {
	found, total := 0, 0
	for i := range truth {
		for _, id := range truth[i] {
			total++
			if slices.Contains(got[i], id) {
				found++
			}
		}
	}
	return float64(found) / float64(total)
}

func pct(lat []time.Duration, p int) string {
	s := slices.Sorted(slices.Values(lat))
	return fmtDur(s[min(len(s)*p/100, len(s)-1)])
}

func mean(lat []time.Duration) string {
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	return fmtDur(sum / time.Duration(len(lat)))
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func dropTable(ctx context.Context, dsn, table string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize()); err != nil {
		return fmt.Errorf("dropping %s: %w", table, err)
	}
	return nil
}
