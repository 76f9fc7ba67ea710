package httpapi

import (
	"bytes"
	"html/template"
)

// errorPage is shown when the authorization endpoint cannot trust the redirect_uri (unknown
// client, unregistered or missing redirect_uri): RFC 6749 §4.1.2.1 forbids redirecting then, so
// the user sees this page instead (checklist 2). It has no script, style or external resource, so
// the strict CSP set by publicMiddleware applies unchanged.
var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
</head>
<body>
<main>
<h1>{{.Heading}}</h1>
<p>{{.Description}}</p>
<p>Error code: <code>{{.Code}}</code></p>
<p>The application that sent you here is misconfigured or the link is broken. You can close this page and return to the application.</p>
</main>
</body>
</html>
`))

func renderErrorPage(code, description string) []byte {
	return renderPage("Sign-in request error", "This sign-in request cannot be completed", code, description)
}

// renderPage renders the error page with its title and heading (the end-session endpoint's
// errors use it too).
func renderPage(title, heading, code, description string) []byte {
	var buf bytes.Buffer
	// The template only fails on a write error, which a bytes.Buffer never returns.
	_ = errorPage.Execute(&buf, struct{ Title, Heading, Code, Description string }{title, heading, code, description})
	return buf.Bytes()
}
