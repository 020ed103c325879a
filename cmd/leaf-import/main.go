// Command leaf-import onboards growers into the Leaf Agriculture API in bulk and keeps them in
// sync: validate a manifest, plan the difference to Leaf, apply it under a rate limit with
// retries, a journal and a report; or serve a local Leaf sandbox.
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
