package leaf

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns an HTTP client tuned for concurrency callers: a keep-alive pool of one
// connection per caller (Go's default keeps only 2 idle connections per host, which makes every
// further caller dial anew), bounded timeouts, and redirects refused for mutating requests.
func NewHTTPClient(concurrency int) *http.Client {
	if concurrency < 1 {
		concurrency = 1
	}
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          concurrency + 4,
		MaxIdleConnsPerHost:   concurrency + 4,
		MaxConnsPerHost:       concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("leaf: too many redirects")
	}
	// A request that changes state is not followed (that could re-send its body somewhere
	// else): the 3xx itself is the answer, and the funnel fails it.
	if m := via[0].Method; m != http.MethodGet && m != http.MethodHead {
		return http.ErrUseLastResponse
	}
	return nil
}
