package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"deputy/internal/exchangesim"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/impersonation"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/secret"
)

// registerProtocol adds --protocol and --graph-url (diagnose and demo).
func registerProtocol(fs *flag.FlagSet, protocol, graphURL *string) {
	fs.StringVar(protocol, "protocol", "", "ews|graph|both: prove EWS (default), Microsoft Graph, or both side by side (the migration view); graph and both need app-only OAuth (Exchange Online)")
	fs.StringVar(graphURL, "graph-url", "", "Microsoft Graph root `URL` (default: the cloud's; with --authority, that host — the simulator serves Graph there)")
}

// setupGraph completes an OAuth configuration for --protocol graph|both: a second token
// source, for https://graph.microsoft.com/.default, with the same app and credential.
// credential is what --password-stdin or $DEPUTY_PASSWORD gave (client secret or PFX
// password). A profile's saved protocol applies unless --protocol is given.
func setupGraph(ctx context.Context, e *env, cfg *impersonation.Config, protocol, graphURL string, o oauthFlags, profileName, credential string) int {
	if protocol == "" {
		protocol = cfg.Profile.Protocol
	}
	switch protocol {
	case "", impersonation.ProtocolEWS:
		cfg.Protocol = impersonation.ProtocolEWS
		return exitOK
	case impersonation.ProtocolGraph, impersonation.ProtocolBoth:
	default:
		return usageErr(e, "--protocol must be ews, graph or both")
	}
	if cfg.OAuth == nil || !cfg.OAuth.AppOnly() {
		return usageErr(e, "--protocol "+protocol+" needs --auth oauth-app-secret or oauth-app-cert: Microsoft Graph has no impersonating service account, and a signed-in user cannot prove other people's mailboxes")
	}
	cfg.Protocol, cfg.Profile.Protocol = protocol, protocol
	oc := oauth.Config{Mode: cfg.OAuth.Mode(), Tenant: cfg.OAuth.Tenant(), ClientID: cfg.OAuth.ClientID(), Cloud: cfg.OAuth.Cloud().Name,
		Authority: o.authority, Resource: oauth.ResourceGraph}
	if code := graphCredential(ctx, e, &oc, o, profileName, credential); code != exitOK {
		return code
	}
	src, code := newTokenSource(e, o, cfg.TLS, oc)
	if code != exitOK {
		return code
	}
	cfg.GraphToken = src.Token
	switch {
	case graphURL != "":
		cfg.GraphURL = graphURL
	case o.authority != "":
		u, err := url.Parse(o.authority)
		if err != nil || u.Host == "" {
			return usageErr(e, "--authority: not a URL")
		}
		cfg.GraphURL = u.Scheme + "://" + u.Host
	default:
		cfg.GraphURL = src.Cloud().GraphResource
	}
	return exitOK
}

// graphCredential finds the app's credential the way the EWS source does: the given
// credential, $DEPUTY_CLIENT_SECRET, or the profile's keychain entry; a certificate from
// --cert, the profile's file, or its keychain entry.
func graphCredential(ctx context.Context, e *env, oc *oauth.Config, o oauthFlags, profileName, credential string) int {
	certFile, profileID := o.cert, ""
	if profileName != "" {
		st, err := openProfiles(e)
		if err != nil {
			fmt.Fprintln(e.stderr, "deputy-cli: profiles:", err)
			return exitFailed
		}
		p, err := st.Get(profileName)
		if err != nil {
			return usageErr(e, "--profile: "+err.Error())
		}
		profileID = p.ID
		if certFile == "" {
			certFile = p.CertFile
		}
	}
	saved := func() int { // the profile's keychain entries, as for EWS (internal/oauth)
		if profileID == "" {
			return exitOK
		}
		if err := oauth.FromKeychain(ctx, secret.New(), profileID, oc); err != nil {
			fmt.Fprintln(e.stderr, "deputy-cli:", err)
			return exitFailed
		}
		return exitOK
	}
	switch oc.Mode {
	case oauth.ModeAppSecret:
		oc.Secret = credential
		if oc.Secret == "" {
			oc.Secret = e.getenv("DEPUTY_CLIENT_SECRET")
		}
		if oc.Secret == "" {
			if code := saved(); code != exitOK {
				return code
			}
		}
	case oauth.ModeAppCert:
		if o.cert == "" {
			if code := saved(); code != exitOK {
				return code
			}
		}
		if len(oc.CertPEM) == 0 && certFile != "" {
			data, err := os.ReadFile(certFile)
			if err != nil {
				return usageErr(e, "--cert: "+err.Error())
			}
			if strings.Contains(string(data), "-----BEGIN") {
				oc.CertPEM = data
			} else {
				oc.PFX, oc.PFXPassword = data, credential
			}
		}
	}
	return exitOK
}

// demoGraph adds the Graph side to the exo-demo run for --protocol graph|both: the
// simulated Graph on the simulator's origin (tokens verified with its Entra ID) and a
// Graph token source with the demo app's credential. Call it after exchangesim.StartEXO
// on a scenario passed through graphsim.PrepareEXODemo.
func demoGraph(e *env, cfg *impersonation.Config, srv *exchangesim.EXOServer, protocol string, oc oauth.Config) int {
	switch protocol {
	case "", impersonation.ProtocolEWS:
		return exitOK
	case impersonation.ProtocolGraph, impersonation.ProtocolBoth:
	default:
		return usageErr(e, "--protocol must be ews, graph or both")
	}
	if oc.Mode != oauth.ModeAppSecret && oc.Mode != oauth.ModeAppCert {
		return usageErr(e, "--protocol "+protocol+" needs app-only OAuth (--auth oauth-app-secret or oauth-app-cert)")
	}
	if _, err := graphsim.MountEXO(srv, 0); err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli:", err)
		return exitFailed
	}
	oc.Resource = oauth.ResourceGraph
	src, err := oauth.NewSource(oc)
	if err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli:", err)
		return exitFailed
	}
	cfg.Protocol, cfg.GraphURL, cfg.GraphToken = protocol, srv.Authority, src.Token
	return exitOK
}

// printMigrationCounts is the migration view's headline (--protocol both).
func printMigrationCounts(w io.Writer, r *result.Result) {
	mg := r.Migration
	if mg == nil {
		return
	}
	fmt.Fprintf(w, "Migration EWS → Microsoft Graph (%d addresses): %s\n", len(mg.Addresses), mg.Counts())
}

// printMigrationBlockers lists the mailboxes that work through EWS today but not through
// Graph — what must be fixed before EWS ends in Exchange Online (1 April 2027) — each
// distinct fix once.
func printMigrationBlockers(w io.Writer, r *result.Result) {
	mg := r.Migration
	if mg == nil {
		return
	}
	graph := map[string]result.Mailbox{}
	for _, m := range r.Mailboxes {
		if m.Protocol == result.Graph {
			graph[strings.ToLower(m.Address)] = m
		}
	}
	var blockers []result.MigrationAddress
	for _, a := range mg.Addresses {
		if a.Verdict == impersonation.VerdictEWSOnly {
			blockers = append(blockers, a)
		}
	}
	fmt.Fprintf(w, "\nMigration to Microsoft Graph: %s\n", mg.Counts())
	if len(blockers) == 0 {
		fmt.Fprintln(w, " ✔ no mailbox depends on EWS alone")
		return
	}
	fmt.Fprintf(w, " ✘ %d %s work through EWS today but not through Graph — fix before EWS ends on 1 April 2027:\n", len(blockers), plural(len(blockers), "mailbox", "mailboxes"))
	shown := map[string]bool{}
	var fixes []string
	for i, a := range blockers {
		g := graph[strings.ToLower(a.Address)]
		if i < 50 {
			fmt.Fprintf(w, "     %-40s graph: %-22s %-28s %s\n", a.Address, a.Graph, g.Code, oneLine(g.Message, 70))
		} else if i == 50 {
			fmt.Fprintf(w, "     … and %d more (see --json or --report)\n", len(blockers)-50)
		}
		key := string(a.Graph) + "|" + g.Code + "|" + firstLine(g.Remediation)
		if g.Remediation != "" && !shown[key] && len(fixes) < 5 {
			shown[key] = true
			fixes = append(fixes, fmt.Sprintf("   Fix (%s, e.g. %s): %s", a.Graph, a.Address, indent(g.Remediation, "        ")))
		}
	}
	for _, f := range fixes {
		fmt.Fprintln(w, f)
	}
}

// firstLine is a remediation's prose without the mailbox-specific commands below it.
func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if i := strings.Index(l, "@"); i >= 0 {
		// the prose names the mailbox; group by the rest of the sentence
		return l[strings.IndexByte(l[i:], ' ')+i+1:]
	}
	return l
}

// prepareDemoGraph readies the exo-demo scenario for --protocol graph|both (before it
// starts): Graph's side of the tenant, the migration blockers among the mailboxes.
func prepareDemoGraph(e *env, x *exchangesim.EXOScenario, protocol, auth string) int {
	switch protocol {
	case "", impersonation.ProtocolEWS:
		return exitOK
	case impersonation.ProtocolGraph, impersonation.ProtocolBoth:
	default:
		return usageErr(e, "--protocol must be ews, graph or both")
	}
	if auth != "" && auth != oauth.ModeAppSecret && auth != oauth.ModeAppCert {
		return usageErr(e, "--protocol "+protocol+" needs app-only OAuth (--auth oauth-app-secret or oauth-app-cert)")
	}
	graphsim.PrepareEXODemo(x)
	return exitOK
}

// graphMailboxCheck: the Graph mailbox checks of a "both" run, whose evidence the
// per-cause mailbox listing already shows.
func graphMailboxCheck(id string) bool {
	return id == impersonation.CheckGraphImpersonation || id == impersonation.CheckGraphRooms
}

// kindLabel is a mailbox row's kind column: Graph rows say so, since a "both" run lists
// an address once per protocol.
func kindLabel(m result.Mailbox) string {
	if m.Protocol == result.Graph {
		return m.Kind + "·graph"
	}
	return m.Kind
}
