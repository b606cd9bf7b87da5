//go:build windows

package main

// Why this file exists: in Remote Desktop sessions and VMs without 3D acceleration Windows
// offers only the "GDI Generic" OpenGL 1.1 renderer (or none). Fyne needs OpenGL 2.1; GLFW
// then fails ("WGL: driver does not support OpenGL"), Fyne logs to a stderr that a
// -H windowsgui exe does not have and exits — the window simply never appears. So before
// Fyne starts we create a hidden window, ask WGL for a context and read GL_VERSION; if that
// fails we say so in a message box and point to deputy-cli.exe.
//
// Only the standard library (syscall.NewLazyDLL): no cgo, no extra module.

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

var (
	user32   = syscall.NewLazyDLL("user32.dll")
	gdi32    = syscall.NewLazyDLL("gdi32.dll")
	kernel32 = syscall.NewLazyDLL("kernel32.dll")
	opengl32 = syscall.NewLazyDLL("opengl32.dll")

	procMessageBoxW      = user32.NewProc("MessageBoxW")
	procRegisterClassExW = user32.NewProc("RegisterClassExW")
	procUnregisterClassW = user32.NewProc("UnregisterClassW")
	procCreateWindowExW  = user32.NewProc("CreateWindowExW")
	procDestroyWindow    = user32.NewProc("DestroyWindow")
	procDefWindowProcW   = user32.NewProc("DefWindowProcW")
	procGetDC            = user32.NewProc("GetDC")
	procReleaseDC        = user32.NewProc("ReleaseDC")
	procChoosePixelFmt   = gdi32.NewProc("ChoosePixelFormat")
	procSetPixelFormat   = gdi32.NewProc("SetPixelFormat")
	procGetModuleHandleW = kernel32.NewProc("GetModuleHandleW")
	procWglCreateContext = opengl32.NewProc("wglCreateContext")
	procWglMakeCurrent   = opengl32.NewProc("wglMakeCurrent")
	procWglDeleteContext = opengl32.NewProc("wglDeleteContext")
	procGlGetString      = opengl32.NewProc("glGetString")
)

const (
	wsOverlappedWindow = 0x00CF0000
	csOwnDC            = 0x0020

	pfdDrawToWindow  = 0x00000004
	pfdSupportOpenGL = 0x00000020
	pfdDoubleBuffer  = 0x00000001
	pfdTypeRGBA      = 0
	pfdMainPlane     = 0

	glVendor   = 0x1F00
	glRenderer = 0x1F01
	glVersion  = 0x1F02

	mbOK            = 0x00000000
	mbIconError     = 0x00000010
	mbSetForeground = 0x00010000
	mbTopmost       = 0x00040000

	// Fyne's desktop driver asks GLFW for an OpenGL 2.1 context (go-gl/gl/v2.1).
	needMajor, needMinor = 2, 1
)

type wndClassExW struct {
	cbSize        uint32
	style         uint32
	lpfnWndProc   uintptr
	cbClsExtra    int32
	cbWndExtra    int32
	hInstance     uintptr
	hIcon         uintptr
	hCursor       uintptr
	hbrBackground uintptr
	lpszMenuName  *uint16
	lpszClassName *uint16
	hIconSm       uintptr
}

type pixelFormatDescriptor struct {
	nSize, nVersion                                         uint16
	dwFlags                                                 uint32
	iPixelType, cColorBits, cRedBits, cRedShift             byte
	cGreenBits, cGreenShift, cBlueBits, cBlueShift          byte
	cAlphaBits, cAlphaShift, cAccumBits, cAccumRedBits      byte
	cAccumGreenBits, cAccumBlueBits, cAccumAlphaBits        byte
	cDepthBits, cStencilBits, cAuxBuffers, iLayerType, bRes byte
	dwLayerMask, dwVisibleMask, dwDamageMask                uint32
}

// preflightGL reports whether this session can give Fyne the OpenGL 2.1 context it needs.
// It never panics; nil means go ahead.
func preflightGL() (err error) {
	defer func() {
		if r := recover(); r != nil { // LazyProc.Call panics when a DLL or export is missing
			err = fmt.Errorf("OpenGL is not available: %v", r)
		}
	}()
	// Window, DC and GL context belong to the thread that made them.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	for _, p := range []*syscall.LazyProc{procRegisterClassExW, procCreateWindowExW, procChoosePixelFmt,
		procWglCreateContext, procWglMakeCurrent, procGlGetString} {
		if e := p.Find(); e != nil {
			return fmt.Errorf("OpenGL is not available: %w", e)
		}
	}

	hinst, _, _ := procGetModuleHandleW.Call(0)
	className, _ := syscall.UTF16PtrFromString("DeputyGLProbe")
	wc := wndClassExW{
		style:         csOwnDC,
		lpfnWndProc:   procDefWindowProcW.Addr(),
		hInstance:     hinst,
		lpszClassName: className,
	}
	wc.cbSize = uint32(unsafe.Sizeof(wc))
	if r, _, e := procRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
		return fmt.Errorf("OpenGL probe: RegisterClassEx: %w", e)
	}
	defer procUnregisterClassW.Call(uintptr(unsafe.Pointer(className)), hinst)

	// Never shown: no WS_VISIBLE and no ShowWindow.
	hwnd, _, e := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(className)), uintptr(unsafe.Pointer(className)),
		wsOverlappedWindow, 0, 0, 64, 64, 0, 0, hinst, 0)
	if hwnd == 0 {
		return fmt.Errorf("OpenGL probe: CreateWindowEx: %w", e)
	}
	defer procDestroyWindow.Call(hwnd)

	hdc, _, _ := procGetDC.Call(hwnd)
	if hdc == 0 {
		return errors.New("OpenGL probe: GetDC failed")
	}
	defer procReleaseDC.Call(hwnd, hdc)

	pfd := pixelFormatDescriptor{
		nVersion:   1,
		dwFlags:    pfdDrawToWindow | pfdSupportOpenGL | pfdDoubleBuffer,
		iPixelType: pfdTypeRGBA,
		cColorBits: 32,
		cDepthBits: 24,
		iLayerType: pfdMainPlane,
	}
	pfd.nSize = uint16(unsafe.Sizeof(pfd))
	format, _, _ := procChoosePixelFmt.Call(hdc, uintptr(unsafe.Pointer(&pfd)))
	if format == 0 {
		return errors.New("the display driver offers no OpenGL pixel format")
	}
	if r, _, e := procSetPixelFormat.Call(hdc, format, uintptr(unsafe.Pointer(&pfd))); r == 0 {
		return fmt.Errorf("the display driver refused an OpenGL pixel format: %w", e)
	}
	ctx, _, e := procWglCreateContext.Call(hdc)
	if ctx == 0 {
		return fmt.Errorf("the display driver cannot create an OpenGL context: %w", e)
	}
	defer procWglDeleteContext.Call(ctx)
	if r, _, e := procWglMakeCurrent.Call(hdc, ctx); r == 0 {
		return fmt.Errorf("the display driver cannot activate an OpenGL context: %w", e)
	}
	defer procWglMakeCurrent.Call(0, 0)

	version := glString(glVersion)
	renderer := glString(glRenderer)
	vendor := glString(glVendor)
	major, minor, ok := parseGLVersion(version)
	if !ok {
		return fmt.Errorf("the OpenGL driver reports no usable version (%q, renderer %q)", version, renderer)
	}
	if major < needMajor || (major == needMajor && minor < needMinor) {
		return fmt.Errorf("this session offers only OpenGL %d.%d (renderer %q by %q); %d.%d or later is needed",
			major, minor, renderer, vendor, needMajor, needMinor)
	}
	return nil
}

func glString(name uintptr) string {
	p, _, _ := procGlGetString.Call(name)
	if p == 0 {
		return ""
	}
	// The double indirection turns the returned address into a pointer without a
	// uintptr->unsafe.Pointer conversion (same idiom as x/sys/windows).
	base := unsafe.Pointer(*(**byte)(unsafe.Pointer(&p)))
	var b []byte
	for i := 0; i < 256; i++ { // GL strings are short; the bound guards a missing NUL
		c := *(*byte)(unsafe.Add(base, i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// parseGLVersion reads "major.minor" from the front of a GL_VERSION string such as
// "4.5 (Compatibility Profile) Mesa 22.3.6" or "1.1.0".
func parseGLVersion(s string) (major, minor int, ok bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " -"); i >= 0 {
		s = s[:i]
	}
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// fatalDialog shows a modal error box; a -H windowsgui exe has no console to print to.
func fatalDialog(title, msg string) {
	t, err1 := syscall.UTF16PtrFromString(title)
	m, err2 := syscall.UTF16PtrFromString(msg)
	if err1 != nil || err2 != nil || procMessageBoxW.Find() != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", title, msg)
		return
	}
	procMessageBoxW.Call(0, uintptr(unsafe.Pointer(m)), uintptr(unsafe.Pointer(t)),
		mbOK|mbIconError|mbSetForeground|mbTopmost)
}

// cliPath is where deputy-cli.exe sits: next to Deputy.exe in both the MSI and the zip.
func cliPath() string {
	exe, err := os.Executable()
	if err != nil {
		return "deputy-cli.exe"
	}
	return filepath.Join(filepath.Dir(exe), "deputy-cli.exe")
}

// glUnavailableMessage is the message-box text for a session without usable OpenGL.
func glUnavailableMessage(err error) string {
	return "Deputy cannot open its window: it needs OpenGL 2.1 or later, and this session " +
		"does not provide it. That is common in Remote Desktop sessions and in virtual " +
		"machines without 3D acceleration.\n\n" +
		"Details: " + err.Error() + "\n\n" +
		"Use the console version instead — it runs the same checks and writes the same reports:\n\n" +
		"    " + cliPath() + "\n\n" +
		"Open a Command Prompt or PowerShell and run:  deputy-cli.exe help"
}

const glDialogTitle = "Deputy — window cannot start"

// ensureGL is the one call main needs before app.New: on a session without usable
// OpenGL it shows the message box and exits 1.
func ensureGL() {
	if err := preflightGL(); err != nil {
		fatalDialog(glDialogTitle, glUnavailableMessage(err))
		os.Exit(1)
	}
}

// watchGLFailure catches the case the preflight cannot: Fyne/GLFW failing later anyway.
// Fyne reports "failed to initialise GLFW" / "window creation error" through the standard
// log package and then quits or calls os.Exit(1); this log writer shows the message box
// synchronously before that happens. Log lines still go to stderr.
func watchGLFailure() {
	log.SetOutput(&glFailureWriter{next: os.Stderr})
}

type glFailureWriter struct {
	next io.Writer
	once sync.Once
}

func (w *glFailureWriter) Write(p []byte) (int, error) {
	s := string(p)
	if strings.Contains(s, "failed to initialise GLFW") || strings.Contains(s, "window creation error") {
		w.once.Do(func() {
			fatalDialog(glDialogTitle, glUnavailableMessage(errors.New(strings.TrimSpace(s))))
		})
	}
	return w.next.Write(p)
}

// recoverStartup turns a panic on the main goroutine (e.g. from GLFW/GL initialisation
// inside ShowAndRun) into the same message box instead of a silent exit. Use as
// `defer recoverStartup()` first thing in main; it re-exits with status 2.
func recoverStartup() {
	if r := recover(); r != nil {
		fatalDialog("Deputy — unexpected error",
			fmt.Sprintf("Deputy stopped unexpectedly: %v\n\nIf the window cannot start on this machine, use %s instead.", r, cliPath()))
		os.Exit(2)
	}
}
