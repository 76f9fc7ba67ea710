package command

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
)

func TestExecute(t *testing.T) {
	var gotArgs []string
	getenv := func(k string) string { return "v-" + k }
	ok := func(_ context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
		gotArgs = args
		_, err := io.WriteString(stdout, getenv("X"))
		return err
	}
	var out, errOut bytes.Buffer
	if code := execute(context.Background(), "demo", ok, []string{"demo", "serve"}, getenv, &out, &errOut); code != 0 ||
		out.String() != "v-X" || errOut.Len() != 0 || !slices.Equal(gotArgs, []string{"demo", "serve"}) {
		t.Fatalf("success: exit %d, stdout %q, stderr %q, args %v", code, out.String(), errOut.String(), gotArgs)
	}
	fail := func(context.Context, []string, func(string) string, io.Writer, io.Writer) error {
		return errors.New("boom")
	}
	for prefix, want := range map[string]string{"demo": "demo: boom\n", "": "boom\n"} {
		errOut.Reset()
		if code := execute(context.Background(), prefix, fail, nil, getenv, &out, &errOut); code != 1 || errOut.String() != want {
			t.Errorf("prefix %q: exit %d, stderr %q; want 1, %q", prefix, code, errOut.String(), want)
		}
	}
}
