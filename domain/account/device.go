package account

import "strings"

// MaxDeviceLen bounds the stored description.
const MaxDeviceLen = 64

// DescribeDevice turns a User-Agent header into the coarse description a person sees on their
// sessions page ("Firefox on Linux"): the browser family and the operating-system family, nothing
// else. No version, no address and no other header is kept, so the description cannot serve as a
// fingerprint; it is stored as this string, never as the header.
func DescribeDevice(userAgent string) string {
	ua := strings.ToLower(userAgent)
	browser, os := "", ""
	// Order matters: Edge and Opera say "chrome" too, Chrome says "safari", and a phone's
	// user agent mentions the desktop system it imitates.
	for _, b := range []struct{ token, name string }{
		{"edg/", "Edge"}, {"edga/", "Edge"}, {"edgios/", "Edge"}, {"opr/", "Opera"}, {"opera", "Opera"},
		{"samsungbrowser/", "Samsung Internet"}, {"vivaldi/", "Vivaldi"}, {"firefox/", "Firefox"}, {"fxios/", "Firefox"},
		{"chromium/", "Chromium"}, {"headlesschrome/", "Chrome"}, {"crios/", "Chrome"}, {"chrome/", "Chrome"}, {"safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"iphone", "iPhone"}, {"ipad", "iPad"}, {"android", "Android"}, {"cros", "ChromeOS"},
		{"windows", "Windows"}, {"mac os x", "macOS"}, {"macintosh", "macOS"}, {"linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			os = o.name
			break
		}
	}
	switch {
	case browser != "" && os != "":
		return browser + " on " + os
	case browser != "":
		return browser
	case os != "":
		return "A browser on " + os
	default:
		return ""
	}
}
