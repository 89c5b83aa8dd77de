import os

from ._static import StaticCommand


class Command(StaticCommand):
    help = "Symlink every installed app's static files into the static root."
    verb = "link"

    def place(self, source, target):
        os.symlink(source, target)
