package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Why not fyne's dialog package: in Fyne 2.8 it pulls in github.com/FyshOS/fancyfs, which
// this module does not pin. These few modals cover what the window needs.

// modal shows content with a title and buttons over the window; the returned func hides it.
func modal(c fyne.Canvas, title string, content fyne.CanvasObject, buttons ...fyne.CanvasObject) func() {
	t := widget.NewLabel(title)
	t.TextStyle.Bold = true
	t.SizeName = theme.SizeNameSubHeadingText
	bar := container.NewHBox(append([]fyne.CanvasObject{layout.NewSpacer()}, buttons...)...)
	pop := widget.NewModalPopUp(container.NewPadded(container.NewBorder(t, bar, nil, nil, content)), c)
	pop.Show()
	return pop.Hide
}

// fixedWidth wraps content so it lays out at width w (wrapping labels need a width).
func fixedWidth(w float32, content fyne.CanvasObject) fyne.CanvasObject {
	return container.New(&widthLayout{w: w}, content)
}

type widthLayout struct{ w float32 }

func (l *widthLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

func (l *widthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		o.Resize(fyne.NewSize(l.w, o.MinSize().Height))
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(l.w, h)
}

// FilePicker is a small file chooser: a folder, its entries (folders first, filtered by
// extension) and, for saving, a file name.
type FilePicker struct {
	dir     *widget.Entry
	list    *widget.List
	name    *widget.Entry
	msg     *widget.Label
	entries []os.DirEntry
	exts    []string
	save    bool
	hide    func()
	done    func(path string)
}

// pickFile opens the chooser; done gets the chosen path (never called on Cancel).
func pickFile(c fyne.Canvas, title, startDir, fileName string, exts []string, save bool, done func(string)) *FilePicker {
	p := &FilePicker{exts: exts, save: save, done: done}
	if startDir == "" {
		startDir, _ = os.UserHomeDir()
	}
	p.dir = widget.NewEntry()
	p.dir.OnSubmitted = func(string) { p.load() }
	up := widget.NewButtonWithIcon("", theme.MoveUpIcon(), func() {
		p.dir.SetText(filepath.Dir(filepath.Clean(p.dir.Text)))
		p.load()
	})
	p.list = widget.NewList(func() int { return len(p.entries) },
		func() fyne.CanvasObject {
			return container.NewBorder(nil, nil, widget.NewIcon(theme.FileIcon()), nil, widget.NewLabel("name.csv"))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			e := p.entries[i]
			row := o.(*fyne.Container)
			row.Objects[0].(*widget.Label).SetText(e.Name())
			if e.IsDir() {
				row.Objects[1].(*widget.Icon).SetResource(theme.FolderIcon())
			} else {
				row.Objects[1].(*widget.Icon).SetResource(theme.FileIcon())
			}
		})
	p.list.OnSelected = func(i widget.ListItemID) {
		e := p.entries[i]
		if e.IsDir() {
			p.dir.SetText(filepath.Join(p.dir.Text, e.Name()))
			p.load()
			return
		}
		p.name.SetText(e.Name())
	}
	p.name = widget.NewEntry()
	p.name.SetText(fileName)
	p.name.SetPlaceHolder("File name")
	p.name.OnSubmitted = func(string) { p.confirm() }
	p.msg = widget.NewLabel("")
	p.msg.Importance = widget.DangerImportance
	p.msg.Wrapping = fyne.TextWrapWord
	label := "Open"
	if save {
		label = "Save"
	}
	ok := widget.NewButton(label, p.confirm)
	ok.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { p.hide() })
	top := container.NewBorder(nil, nil, up, nil, p.dir)
	bottom := container.NewVBox(container.NewBorder(nil, nil, widget.NewLabel("File:"), nil, p.name), p.msg)
	body := container.NewBorder(top, bottom, nil, nil, p.list)
	p.dir.SetText(startDir)
	p.load()
	p.hide = modal(c, title, container.NewGridWrap(fyne.NewSize(640, 420), body), cancel, ok)
	return p
}

func (p *FilePicker) load() {
	ents, err := os.ReadDir(p.dir.Text)
	p.entries = p.entries[:0]
	if err != nil {
		p.msg.SetText(err.Error())
	} else {
		p.msg.SetText("")
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if e.IsDir() || len(p.exts) == 0 || slices.Contains(p.exts, strings.ToLower(filepath.Ext(e.Name()))) {
			p.entries = append(p.entries, e)
		}
	}
	slices.SortFunc(p.entries, func(a, b os.DirEntry) int {
		if a.IsDir() != b.IsDir() {
			if a.IsDir() {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name()), strings.ToLower(b.Name()))
	})
	p.list.UnselectAll()
	p.list.Refresh()
}

func (p *FilePicker) confirm() {
	name := strings.TrimSpace(p.name.Text)
	if name == "" {
		p.msg.SetText("Choose a file.")
		return
	}
	path := name
	if !filepath.IsAbs(name) {
		path = filepath.Join(p.dir.Text, name)
	}
	st, err := os.Stat(path)
	if !p.save && err != nil {
		p.msg.SetText(err.Error())
		return
	}
	if err == nil && st.IsDir() {
		p.dir.SetText(path)
		p.load()
		return
	}
	p.hide()
	p.done(path)
}
