package ews

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"deputy/internal/result"
)

// parseEnvelope walks a SOAP envelope token by token, by local names. It returns:
// (resp, nil) for a normal reply; (resp-or-nil, *Error) for a SOAP fault; (nil, other
// error) when the body is not a well-formed SOAP envelope.
func parseEnvelope(body []byte, base *Error) (*Response, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = charsetReader
	p := envParser{resp: &Response{}}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.start(t); err != nil {
				return nil, err
			}
		case xml.EndElement:
			p.end()
		case xml.CharData:
			if p.capture {
				p.text = append(p.text, t...)
			}
		}
	}
	if !p.sawRoot {
		return nil, fmt.Errorf("no XML element")
	}
	if !p.sawBody {
		return nil, fmt.Errorf("SOAP envelope without a Body")
	}
	if p.fault != nil {
		return p.faultResponse(base)
	}
	return p.resp, nil
}

// charsetReader accepts the encodings EWS uses; utf-8 is handled by the decoder itself.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q", label)
}

type fault struct {
	code, str             string
	responseCode, message string
	errorCode             string
	values                map[string]string
}

type envParser struct {
	resp    *Response
	stack   []string
	sawRoot bool
	sawBody bool

	capture bool
	text    []byte

	// depth (len(stack) after push) of the current message element, 0 if none
	msgDepth int
	msg      *Message
	// payload currently being read
	folder   *Folder
	item     *ItemID
	addr     *Address
	inMsgXML int // depth of MessageXml, 0 if outside
	valName  string

	fault *fault
}

func (p *envParser) path(i int) string {
	if i < len(p.stack) {
		return p.stack[i]
	}
	return ""
}

func attr(t xml.StartElement, name string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// maxDepth bounds nesting: EWS replies are about 10 levels deep; a hostile body of
// nothing but start tags must not grow the stack to the size of the body.
const maxDepth = 128

func (p *envParser) start(t xml.StartElement) error {
	name := t.Name.Local
	if len(p.stack) >= maxDepth {
		return fmt.Errorf("XML nested deeper than %d levels", maxDepth)
	}
	p.stack = append(p.stack, name)
	depth := len(p.stack)
	p.capture, p.text = false, p.text[:0]

	switch depth {
	case 1:
		if name != "Envelope" {
			return fmt.Errorf("%w (root is <%s>)", errNotEnvelope, name)
		}
		p.sawRoot = true
		return nil
	case 2:
		if name == "Body" {
			p.sawBody = true
		}
		return nil
	case 3:
		switch {
		case p.path(1) == "Header" && name == "ServerVersionInfo":
			p.resp.Server = serverVersion(t)
		case p.path(1) == "Body" && name == "Fault":
			p.fault = &fault{}
		case p.path(1) == "Body":
			p.resp.Operation = strings.TrimSuffix(name, "Response")
			if c, ok := attr(t, "ResponseClass"); ok {
				// Unwrapped reply (GetRoomLists, GetRooms, GetAppManifests…).
				p.resp.Messages = append(p.resp.Messages, Message{Class: strings.TrimSpace(c)})
				p.msg, p.msgDepth = &p.resp.Messages[len(p.resp.Messages)-1], depth
			}
		}
		return nil
	}
	if p.path(1) != "Body" {
		return nil
	}
	if p.fault != nil {
		p.faultStart(t, depth)
		return nil
	}
	// A wrapped message: Body/XResponse/ResponseMessages/XResponseMessage.
	if depth == 5 && p.path(3) == "ResponseMessages" {
		c, _ := attr(t, "ResponseClass")
		p.resp.Messages = append(p.resp.Messages, Message{Class: strings.TrimSpace(c)})
		p.msg, p.msgDepth = &p.resp.Messages[len(p.resp.Messages)-1], depth
		return nil
	}
	if p.msg == nil || depth <= p.msgDepth {
		return nil
	}
	rel := depth - p.msgDepth
	if p.inMsgXML > 0 {
		p.valName = name
		if name == "Value" {
			p.valName, _ = attr(t, "Name")
		}
		p.capture = true
		return nil
	}
	switch rel {
	case 1:
		switch name {
		case "ResponseCode", "MessageText":
			p.capture = true
		case "MessageXml":
			p.inMsgXML = depth
		}
	case 2:
		switch p.path(depth - 2) {
		case "Folders":
			p.msg.Folders = append(p.msg.Folders, Folder{})
			p.folder = &p.msg.Folders[len(p.msg.Folders)-1]
		case "Items":
			p.msg.Items = append(p.msg.Items, ItemID{})
			p.item = &p.msg.Items[len(p.msg.Items)-1]
		case "RoomLists":
			if name == "Address" {
				p.msg.Addresses = append(p.msg.Addresses, Address{})
				p.addr = &p.msg.Addresses[len(p.msg.Addresses)-1]
			}
		case "Rooms":
			if name == "Room" {
				p.msg.Addresses = append(p.msg.Addresses, Address{})
				p.addr = &p.msg.Addresses[len(p.msg.Addresses)-1]
			}
		}
	case 3:
		switch {
		case p.folder != nil && name == "FolderId":
			p.folder.ID, _ = attr(t, "Id")
			p.folder.ChangeKey, _ = attr(t, "ChangeKey")
		case p.folder != nil && name == "DisplayName":
			p.capture = true
		case p.item != nil && name == "ItemId":
			p.item.ID, _ = attr(t, "Id")
			p.item.ChangeKey, _ = attr(t, "ChangeKey")
		case p.addr != nil && (name == "Name" || name == "EmailAddress"):
			p.capture = true
		}
	case 4:
		if p.addr != nil && p.path(depth-2) == "Id" && (name == "Name" || name == "EmailAddress") {
			p.capture = true
		}
	}
	return nil
}

func (p *envParser) end() {
	depth := len(p.stack)
	if depth == 0 {
		return
	}
	name := p.stack[depth-1]
	if p.capture {
		text := strings.TrimSpace(string(p.text))
		switch {
		case p.fault != nil:
			p.faultText(name, text, depth)
		case p.inMsgXML > 0 && depth > p.inMsgXML:
			if p.msg.Values == nil {
				p.msg.Values = map[string]string{}
			}
			if p.valName != "" {
				p.msg.Values[p.valName] = text
			}
		case p.msg != nil && depth == p.msgDepth+1 && name == "ResponseCode":
			p.msg.Code = text
		case p.msg != nil && depth == p.msgDepth+1 && name == "MessageText":
			p.msg.Text = text
		case p.folder != nil && name == "DisplayName":
			p.folder.DisplayName = text
		case p.addr != nil && name == "Name":
			p.addr.Name = text
		case p.addr != nil && name == "EmailAddress":
			p.addr.Email = text
		}
		p.capture = false
	}
	switch {
	case p.inMsgXML == depth:
		p.inMsgXML = 0
	case p.msg != nil && depth == p.msgDepth:
		p.msg, p.msgDepth = nil, 0
	case p.msg != nil && depth == p.msgDepth+2:
		p.folder, p.item, p.addr = nil, nil, nil
	}
	p.stack = p.stack[:depth-1]
}

// Fault: Body/Fault/{faultcode,faultstring,faultactor,detail/{ResponseCode,Message,
// ErrorCode,MessageXml/*}}. MessageXml is in the types namespace here (t:) and in the
// messages namespace (m:) inside ResponseMessages; local names make that moot.
func (p *envParser) faultStart(t xml.StartElement, depth int) {
	name := t.Name.Local
	switch {
	case depth == 4 && (name == "faultcode" || name == "faultstring"):
		p.capture = true
	case depth == 5 && p.path(3) == "detail" && name != "MessageXml":
		p.capture = true
	case depth == 5 && p.path(3) == "detail" && name == "MessageXml":
		p.inMsgXML = depth
	case p.inMsgXML > 0 && depth > p.inMsgXML:
		p.valName = name
		if name == "Value" {
			p.valName, _ = attr(t, "Name")
		}
		p.capture = true
	}
}

func (p *envParser) faultText(name, text string, depth int) {
	f := p.fault
	switch {
	case depth == 4 && name == "faultcode":
		f.code = text
	case depth == 4 && name == "faultstring":
		f.str = text
	case p.inMsgXML > 0 && depth > p.inMsgXML:
		if f.values == nil {
			f.values = map[string]string{}
		}
		if p.valName != "" {
			f.values[p.valName] = text
		}
	case depth == 5 && name == "ResponseCode":
		f.responseCode = text
	case depth == 5 && name == "Message":
		f.message = text
	case depth == 5 && name == "ErrorCode":
		f.errorCode = text
	}
}

func (p *envParser) faultResponse(base *Error) (*Response, error) {
	f := p.fault
	e := *base
	e.Fault = true
	e.Operation = p.resp.Operation
	if f.errorCode != "" {
		// Exchange 2007 faults: a .NET HRESULT instead of a ResponseCode.
		if f.values == nil {
			f.values = map[string]string{}
		}
		f.values["ErrorCode"] = f.errorCode
	}
	e.Values = f.values
	e.Code = f.responseCode
	if e.Code == "" {
		// a:ErrorServerBusy → ErrorServerBusy; soap:Client stays as sent.
		if _, local, ok := strings.Cut(f.code, ":"); ok && strings.HasPrefix(local, "Error") {
			e.Code = local
		} else {
			e.Code = f.code
		}
	}
	if e.Code == "" {
		e.Code = "Fault"
	}
	msg := f.message
	if msg == "" {
		msg = f.str
	}
	if v := f.values["Violation"]; v != "" && !strings.Contains(msg, v) {
		// ErrorSchemaValidation: where and what, so a Deputy bug report is actionable.
		msg += fmt.Sprintf(" (line %s, position %s: %s)", f.values["LineNumber"], f.values["LinePosition"], v)
	}
	e.Message = clean(msg, 1000)
	e.InnerCode = f.values["InnerErrorResponseCode"]
	e.BackOff = backOff(f.values)
	e.Class = classify(e.Code, e.InnerCode, f.str+" "+f.message+" "+f.values["InnerErrorMessageText"], false)
	if e.Class == result.Other && f.responseCode == "" {
		// Exchange 2007-era faults carry a .NET exception name instead of a code.
		switch {
		case strings.Contains(f.str, "AccessDenied"):
			e.Class = result.AccessDenied
		case strings.Contains(f.str, "The specified server version is invalid"):
			e.Class = result.VersionError
		}
	}
	var resp *Response
	if !p.resp.Server.IsZero() || p.resp.Operation != "" {
		resp = p.resp
		resp.HTTPStatus = base.HTTPStatus
	}
	return resp, &e
}

func serverVersion(t xml.StartElement) ServerVersion {
	n := func(a string) int {
		v, _ := attr(t, a)
		i, _ := strconv.Atoi(strings.TrimSpace(v))
		return i
	}
	v, _ := attr(t, "Version")
	return ServerVersion{Major: n("MajorVersion"), Minor: n("MinorVersion"), Build: n("MajorBuildNumber"),
		Revision: n("MinorBuildNumber"), Version: v}
}
