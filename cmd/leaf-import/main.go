package main

import (
	"context"
	"os"
)

func main() {
	boundToContainer()
	stop := startProfiles()
	code := run(context.Background(), os.Args[1:], systemStreams(), os.LookupEnv)
	stop()
	os.Exit(code)
}
