package autodiscover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"deputy/internal/result"
)

// Check turns a Discover run into the diagnosis plan's "autodiscover" check. configured
// is the EWS URL the profile holds ("" when it relies on Autodiscover alone): a different
// answer is a warning, because the run would then test another server than the one found.
// Remediation text is left to the setup package, the one source of it.
func Check(res *Result, err error, configured string) result.Check {
	c := result.Check{ID: result.CheckAutodiscover, Title: "Autodiscover"}
	if res == nil {
		res = &Result{}
	}
	var total time.Duration
	for i, s := range res.Steps {
		total += s.Duration
		c.Evidence = append(c.Evidence, StepLine(i+1, s))
	}
	c.DurationMs = total.Milliseconds()
	var refused *RefusedError
	switch {
	case err == nil && res.EWSURL != "":
		c.Status, c.Class = result.Pass, result.OK
		c.Summary = fmt.Sprintf("%s found via %s", res.EWSURL, res.Via)
		if !strings.HasPrefix(strings.ToLower(res.EWSURL), "https://") {
			c.Status = result.Warn
			c.Summary += " — a plain-http EWS URL: credentials and mail would cross the network unencrypted"
		}
		if configured != "" && !sameURL(configured, res.EWSURL) {
			c.Status = result.Warn
			c.Summary = fmt.Sprintf("Autodiscover answers %s, but the profile uses %s", res.EWSURL, configured)
		}
	case errors.As(err, &refused):
		c.Status, c.Class, c.Code = result.Fail, result.Other, "redirect-refused"
		c.Summary = fmt.Sprintf("Autodiscover redirects to %s, outside %s; credentials were not sent there", refused.Host, refused.Domain)
	case errors.Is(err, context.Canceled):
		c.Status, c.Summary = result.Skip, "cancelled"
	default:
		c.Status, c.Class = result.Fail, result.Other
		switch {
		case errors.Is(err, ErrRedirectLoop):
			c.Code = "redirect-loop"
		case errors.Is(err, ErrTooManyRedirects):
			c.Code = "too-many-redirects"
		case errors.Is(err, ErrInvalidInput):
			c.Code = "invalid-input"
		default:
			c.Code = "not-found"
			if anyAuthFailure(res.Steps) {
				c.Class = result.AuthFailed
			}
		}
		if err != nil {
			c.Summary = err.Error()
		} else {
			c.Summary = "no EWS URL found"
		}
	}
	return c
}

// StepLine is a one-line, secret-free description of a step for evidence and logs.
func StepLine(n int, s Step) string {
	what := strings.TrimSpace(s.Method + " " + string(s.Protocol))
	status := ""
	if s.Status != 0 {
		status = fmt.Sprintf(" HTTP %d,", s.Status)
	}
	line := fmt.Sprintf("%d. %s %s →%s %s (%s)", n, what, s.URL, status, s.Outcome, s.Duration.Round(time.Millisecond))
	if s.Detail != "" {
		line += ": " + s.Detail
	}
	return line
}

// anyAuthFailure: some server rejected the credentials — with nothing found, that is the
// most actionable cause to report.
func anyAuthFailure(steps []Step) bool {
	for _, s := range steps {
		if s.Status == 401 || s.Status == 403 {
			return true
		}
	}
	return false
}

func sameURL(a, b string) bool {
	norm := func(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/") }
	return norm(a) == norm(b)
}
