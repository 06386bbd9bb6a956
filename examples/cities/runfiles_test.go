package main

import "github.com/ragvsft/ragvsft/internal/runner"

// The run folder's names, as the tests use them.
type config = runner.Config

const (
	configFile     = runner.ConfigFile
	datasetFile    = runner.DatasetFile
	questionsFile  = runner.QuestionsFile
	checkpointFile = runner.CheckpointFile
)

const batchRecordFile = runner.BatchRecordFile

var errNotConfirmed = runner.ErrNotConfirmed

func defaultBackend() string { return runner.DefaultBackend() }
