import os
import shutil

from ._static import StaticCommand


class Command(StaticCommand):
    help = "Copy every installed app's static files into the static root."
    verb = "copy"

    def place(self, source, target):
        if os.path.isdir(source):
            shutil.copytree(source, target, symlinks=False)
        else:
            shutil.copy2(source, target)
