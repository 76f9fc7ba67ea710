package web_test

import (
	"github.com/sva-oauth/sva/adapters/consent/coreclient"
	"github.com/sva-oauth/sva/adapters/consent/web"
)

// The generated-client wrapper is the production CoreAPI.
var _ web.CoreAPI = (*coreclient.Core)(nil)

// testCore returns the CoreAPI the tests drive the BFF with: the real client generated from
// openapi/core.yaml, pointed at a fake Core, so the tests also catch path or method drift.
func testCore(baseURL string) web.CoreAPI {
	c, err := coreclient.New(baseURL, nil)
	if err != nil {
		panic(err)
	}
	return c
}
