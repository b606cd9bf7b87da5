package main

import (
	"context"
	"fmt"
	"runtime"

	"deputy"
)

func init() {
	register("version", "", func(ctx context.Context, e *env, args []string) int {
		fmt.Fprintf(e.stdout, "%s %s (%s/%s, %s)\n", "deputy-cli", deputy.Version, runtime.GOOS, runtime.GOARCH, runtime.Version())
		return exitOK
	})
}
