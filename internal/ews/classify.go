package ews

import (
	"regexp"
	"strings"

	"deputy/internal/result"
)

// ClassifyCode maps an EWS ResponseCode onto the deputy.diagnostics/v1 class vocabulary
// (domain.md §3.2). HTTP pseudo-codes ("HTTP 401", …) are accepted too.
//
//	class                   codes
//	impersonation-denied    ErrorImpersonateUserDenied (right exists; this mailbox is outside its scope)
//	no-impersonation-right  ErrorImpersonationDenied (no ApplicationImpersonation at all)
//	mailbox-not-found       ErrorNonExistentMailbox, ErrorMailRecipientNotFound, ErrorRecipientNotFound
//	access-denied           ErrorAccessDenied, ErrorSendAsDenied, ErrorCreateItemAccessDenied,
//	                        ErrorCreateSubfolderAccessDenied, ErrorAccessDeniedDueToCompliance,
//	                        ErrorRecoverableItemsAccessDenied, ErrorUserNotAllowedByPolicy,
//	                        ErrorOrganizationAccessBlocked, HTTP 403
//	no-mailbox              ErrorMissingEmailAddress, ErrorMissingEmailAddressForManagedFolder,
//	                        ErrorMailboxConfiguration, ErrorNameResolutionNoMailbox, ErrorInvalidLicense
//	throttled               ErrorServerBusy, ErrorExceededConnectionCount, ErrorTooManyObjectsOpened,
//	                        ErrorInsufficientResources, HTTP 429
//	transient               ErrorMailboxMoveInProgress, ErrorMailboxStoreUnavailable,
//	                        ErrorInternalServerTransientError, ErrorTimeoutExpired, ErrorConnectionFailed,
//	                        ErrorMailboxLogonFailed, ErrorMailboxFailover, ErrorADUnavailable,
//	                        ErrorServiceUnavailable, HTTP 502/503/504
//	auth-failed             ErrorImpersonationFailed, ErrorAccountDisabled, ErrorPasswordExpired,
//	                        ErrorPasswordChangeRequired, HTTP 401, HTTP 407
//	version-error           ErrorInvalidServerVersion, ErrorIncorrectSchemaVersion,
//	                        ErrorInvalidSchemaVersionForMailboxVersion, ErrorWrongServerVersion,
//	                        ErrorWrongServerVersionDelegate
//	schema-error            ErrorSchemaValidation, ErrorSendMeetingInvitationsRequired,
//	                        ErrorSendMeetingCancellationsRequired,
//	                        ErrorSendMeetingInvitationsOrCancellationsRequired, ErrorDuplicateSOAPHeader
//	header-invalid          ErrorInvalidExchangeImpersonationHeaderData, ErrorInvalidSmtpAddress,
//	                        ErrorInvalidUserPrincipalName, ErrorInvalidSid, ErrorInvalidUserSid,
//	                        ErrorInvalidUserSidMissingUPN, ErrorNonPrimarySmtpAddress
//	ok                      NoError
//	other                   everything else (ErrorItemNotFound, ErrorFolderNotFound,
//	                        ErrorInvalidIdMalformed, ErrorNameResolutionNoResults, ErrorInternalServerError, …)
//
// Parse refines this with what only the reply shows (classify): ErrorInvalidRequest whose
// text is about the server version → version-error; ErrorInternalServerError →
// the class of its InnerErrorResponseCode, or no-mailbox for "doesn't have a valid
// license"; the header-invalid codes inside a per-item ResponseMessage → other, because
// there they are about an argument of the operation (e.g. ConvertId's Mailbox), while a
// bad impersonation header fails the whole request as a SOAP fault. HTML and non-XML
// replies are not-ews (they never reach ClassifyCode).
func ClassifyCode(code string) result.Class {
	if c, ok := codeClass[strings.TrimSpace(code)]; ok {
		return c
	}
	return result.Other
}

var codeClass = map[string]result.Class{}

func init() {
	for class, codes := range map[result.Class]string{
		result.OK:                   "NoError",
		result.ImpersonationDenied:  "ErrorImpersonateUserDenied",
		result.NoImpersonationRight: "ErrorImpersonationDenied",
		result.MailboxNotFound:      "ErrorNonExistentMailbox ErrorMailRecipientNotFound ErrorRecipientNotFound",
		result.AccessDenied: "ErrorAccessDenied ErrorSendAsDenied ErrorCreateItemAccessDenied ErrorCreateSubfolderAccessDenied " +
			"ErrorAccessDeniedDueToCompliance ErrorRecoverableItemsAccessDenied ErrorUserNotAllowedByPolicy " +
			"ErrorOrganizationAccessBlocked HTTP_403",
		result.NoMailbox: "ErrorMissingEmailAddress ErrorMissingEmailAddressForManagedFolder ErrorMailboxConfiguration " +
			"ErrorNameResolutionNoMailbox ErrorInvalidLicense",
		result.Throttled: "ErrorServerBusy ErrorExceededConnectionCount ErrorTooManyObjectsOpened ErrorInsufficientResources HTTP_429",
		result.Transient: "ErrorMailboxMoveInProgress ErrorMailboxStoreUnavailable ErrorInternalServerTransientError " +
			"ErrorTimeoutExpired ErrorConnectionFailed ErrorMailboxLogonFailed ErrorMailboxFailover ErrorADUnavailable " +
			"ErrorServiceUnavailable HTTP_502 HTTP_503 HTTP_504",
		result.AuthFailed: "ErrorImpersonationFailed ErrorAccountDisabled ErrorPasswordExpired ErrorPasswordChangeRequired HTTP_401 HTTP_407",
		result.VersionError: "ErrorInvalidServerVersion ErrorIncorrectSchemaVersion ErrorInvalidSchemaVersionForMailboxVersion " +
			"ErrorWrongServerVersion ErrorWrongServerVersionDelegate",
		result.SchemaError: "ErrorSchemaValidation ErrorSendMeetingInvitationsRequired ErrorSendMeetingCancellationsRequired " +
			"ErrorSendMeetingInvitationsOrCancellationsRequired ErrorDuplicateSOAPHeader",
		result.HeaderInvalid: "ErrorInvalidExchangeImpersonationHeaderData ErrorInvalidSmtpAddress ErrorInvalidUserPrincipalName " +
			"ErrorInvalidSid ErrorInvalidUserSid ErrorInvalidUserSidMissingUPN ErrorNonPrimarySmtpAddress",
	} {
		for _, c := range strings.Fields(codes) {
			codeClass[strings.ReplaceAll(c, "_", " ")] = class
		}
	}
}

// versionText recognises replies that are about RequestServerVersion even though their
// code is generic (ErrorInvalidRequest, HTTP 500 text). "major version, minor version"
// (GetAppManifests' apiVersionSupported) must not match.
var versionText = regexp.MustCompile(`(?i)RequestServerVersion|server version|schema version|requested version|version of exchange|exchange version`)

var licenceText = regexp.MustCompile(`(?i)(doesn't|does not) have a valid licen[cs]e`)

// classify refines ClassifyCode with the reply's context.
func classify(code, inner, message string, perItem bool) result.Class {
	c := ClassifyCode(code)
	switch code {
	case "ErrorInvalidRequest":
		if versionText.MatchString(message) {
			return result.VersionError
		}
	case "ErrorInternalServerError":
		if inner != "" {
			if ic := ClassifyCode(inner); ic != result.Other && ic != result.OK {
				return ic
			}
		}
		if licenceText.MatchString(message) {
			return result.NoMailbox
		}
	}
	if perItem && c == result.HeaderInvalid && code != "ErrorInvalidExchangeImpersonationHeaderData" {
		return result.Other
	}
	return c
}

// isVersionError reports whether a retry with an older RequestServerVersion may help.
func isVersionError(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Class == result.VersionError
}
