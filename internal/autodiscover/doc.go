// Package autodiscover finds a mailbox's EWS URL from its e-mail address the way Outlook
// and the EWS Managed API do (POX and SOAP Autodiscover, the plain-http redirect, DNS SRV,
// Exchange Online's v2 JSON endpoint), while never handing credentials to plain http or to
// a host outside the address's domain that the user did not approve.
package autodiscover
