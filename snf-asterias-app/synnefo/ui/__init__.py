"""The user web application at /ui/: one page whose script is a client of the public
compute, image, network and identity APIs (docs/ui.md)."""
