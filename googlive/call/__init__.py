"""The call as the page shows it: its state and controls (control, view, ui), the call
registry, which backend and key a call uses (keyflow), and the tool cards."""
