package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"

	"github.com/sva-oauth/sva/domain/authreq"
)

// formPostScript is the page's only script: it submits the form as soon as the page loads. Its
// hash, not 'unsafe-inline', lets it run (formPostCSP), so nothing injected into the page could.
const formPostScript = `document.forms[0].submit();`

// formPostPage is the OAuth 2.0 Form Post Response Mode page: the response parameters as hidden
// fields of a form the browser POSTs to the client's redirect_uri. Without script the person
// presses the button instead. html/template escapes every value (they come from the request).
var formPostPage = template.Must(template.New("form_post").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Returning to the application</title>
</head>
<body>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Script is off in this browser. Press the button to return to the application.</p><button type="submit">Continue</button></noscript>
</form>
<script>` + formPostScript + `</script>
</body>
</html>
`))

// formPostCSP is the page's Content-Security-Policy: nothing may load, only the one script whose
// hash is listed may run, the form may only go to the client's origin, and no one may frame it.
func formPostCSP(targetOrigin string) string {
	sum := sha256.Sum256([]byte(formPostScript))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action " + targetOrigin + "; frame-ancestors 'none'; base-uri 'none'"
}

type formField struct{ Name, Value string }

// formPostResponse answers with the page that posts params to redirectURI (which must be an http
// or https URL, authreq.FormPostTarget). The parameters go in a fixed order, so the page is
// deterministic.
func formPostResponse(redirectURI string, params url.Values) (*rawOutput, error) {
	origin, err := authreq.FormPostTarget(redirectURI)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	var fields []formField
	for _, name := range names {
		for _, v := range params[name] {
			fields = append(fields, formField{name, v})
		}
	}
	var buf bytes.Buffer
	if err := formPostPage.Execute(&buf, struct {
		Action string
		Fields []formField
	}{redirectURI, fields}); err != nil {
		return nil, err
	}
	return &rawOutput{
		Status: http.StatusOK, ContentType: "text/html; charset=utf-8", CacheControl: "no-store",
		ContentSecurityPolicy: formPostCSP(origin), Body: buf.Bytes(),
	}, nil
}
