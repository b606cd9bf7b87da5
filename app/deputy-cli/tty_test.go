package main

import (
	"os"
	"testing"
)

func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatalf("%s taken for a terminal: the CLI would prompt where nobody can answer", os.DevNull)
	}
	if isTerminal(struct{}{}) {
		t.Fatal("a non-file taken for a terminal")
	}
}
