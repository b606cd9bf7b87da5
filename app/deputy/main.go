// Command deputy is Deputy's window.
package main

import (
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	"deputy"
)

func main() {
	a := app.NewWithID(deputy.ID)
	w := a.NewWindow(deputy.Name)
	w.SetContent(widget.NewLabel("Deputy " + deputy.Version))
	w.ShowAndRun()
}
