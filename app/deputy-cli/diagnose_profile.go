package main

import (
	"context"
	"errors"
	"fmt"

	"deputy/internal/impersonation"
	"deputy/internal/profile"
	"deputy/internal/secret"
)

// applyProfile fills cfg from a saved profile and its keychain password, so a profile made
// in the window runs from Task Scheduler. Flags given on the command line override it;
// havePassword (--password-stdin or $DEPUTY_PASSWORD) means the keychain is not read.
func applyProfile(ctx context.Context, e *env, name string, cfg *impersonation.Config, havePassword bool) int {
	st, err := openProfiles(e)
	if err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli: profiles:", err)
		return exitFailed
	}
	p, err := st.Get(name)
	if err != nil {
		return usageErr(e, "--profile: "+err.Error())
	}
	cfg.Profile = p.Result()
	cfg.URL = p.URL()
	cfg.Auth.Scheme, cfg.Auth.User = p.Auth, p.User
	cfg.ServiceMailbox = p.ServiceMailbox
	cfg.Mailboxes = append([]string(nil), p.Mailboxes...)
	cfg.Rooms = append([]string(nil), p.Rooms...)
	cfg.CheckRooms, cfg.WriteTest = p.CheckRooms, p.WriteTest
	cfg.Concurrency = p.Concurrency
	if p.UseAutodiscover {
		cfg.AutodiscoverAddress = profile.AutodiscoverAddress(p.ServiceMailbox, p.User)
	}
	cfg.TLS.PinSHA256, cfg.TLS.CAFile, cfg.TLS.AllowHTTP = p.TLS.PinSHA256, p.TLS.CAFile, p.TLS.AllowHTTP
	if kind := p.SecretKind(); kind == secret.Password && !havePassword {
		pw, err := secret.New().Get(ctx, secret.Key{Profile: p.ID, Kind: kind})
		switch {
		case errors.Is(err, secret.ErrNotFound):
			fmt.Fprintf(e.stderr, "deputy-cli: profile %q has no password saved in %s (save it with: deputy-cli profile edit %q --password-stdin)\n", p.Name, secret.Backend(), p.Name)
			return exitUsage
		case err != nil:
			fmt.Fprintln(e.stderr, "deputy-cli: keychain:", err)
			return exitFailed
		}
		cfg.Auth.Password = pw
	}
	return exitOK
}
