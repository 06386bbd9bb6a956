package pgvector_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/pgvector"
)

// Open a table on a server, index a knowledge base's documents and ask.
// (No Output: the example needs a server, RAGVSFT_PG_DSN; the package's
// tests run the same calls against one.)
func ExampleOpen() {
	ctx := context.Background()
	r, err := pgvector.Open(ctx, os.Getenv("RAGVSFT_PG_DSN"), pgvector.Options{
		Table: "capitals",
		HNSW:  pgvector.HNSW{EfSearch: 100},
	})
	if err != nil {
		log.Fatal(err) // names the server, not the password
	}
	defer r.Close()
	docs := []ragvsft.Document{
		{ID: "fr", Text: "Paris is the capital of France."},
		{ID: "de", Text: "Berlin is the capital of Germany."},
	}
	if err := r.Index(ctx, docs); err != nil {
		log.Fatal(err)
	}
	hits, err := r.Retrieve(ctx, "What is the capital of Germany?", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(hits[0].Document.ID, r.Stats().Embedded)
}
