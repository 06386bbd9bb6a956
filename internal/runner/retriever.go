package runner

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/pgvector"
)

// runIndex is the run's Retriever with what the summary says of it.
type runIndex interface {
	ragvsft.Retriever
	Stats() ragvsft.IndexStats
	Close()
}

// chromemIndex is the default: the persistent chromem index of the run
// folder, which holds no connection to close.
type chromemIndex struct{ *ragvsft.ChromemRetriever }

func (chromemIndex) Close() {}

// checkRetrieverFlags checks -retriever and -pg before anything is written.
func checkRetrieverFlags(retriever, dsn string) error {
	switch retriever {
	case "", "chromem":
		if dsn != "" {
			return errors.New("-pg needs -retriever pgvector")
		}
	case "pgvector":
		if dsn == "" {
			return errors.New("-retriever pgvector needs -pg DSN, the PostgreSQL server holding the documents")
		}
	default:
		return fmt.Errorf("-retriever must be chromem or pgvector, got %q", retriever)
	}
	return nil
}

// openRetriever opens the run's index: chromem's in dir, or the table
// pgvector.DefaultTable on the server of dsn, with the backend's embeddings
// either way. where names it for the summary, without a password.
func openRetriever(ctx context.Context, retriever, dsn, dir string, be *backend, stderr io.Writer) (runIndex, string, error) {
	if retriever != "pgvector" {
		r, err := openIndex(dir, be, stderr)
		if err != nil {
			return nil, "", err
		}
		return chromemIndex{r}, dir, nil
	}
	r, err := pgvector.Open(ctx, dsn, pgvector.Options{Embed: be.embed, EmbedBatch: be.embedBatch, Model: be.embedModel})
	if err != nil {
		return nil, "", err
	}
	return r, "PostgreSQL table " + r.Table(), nil
}
