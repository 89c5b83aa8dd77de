"""The one error the provider reports to Ganeti (and through it to the API's fault)."""

# Prefix of the line the create script prints last on failure. Ganeti puts the
# script's last log lines into the job's error; the dispatcher takes this line
# out of it as the server's fault message (synnefo.logic.callbacks).
MARK = "snf-image error:"


class ImageError(Exception):
    """A deployment failure with a message meant for the server's owner.

    ``code`` is the HTTP-like fault code the API shows: 400 for what the request or
    the image got wrong, 500 for the node's own trouble.
    """

    def __init__(self, message, code=400):
        super().__init__(message)
        self.message = message
        self.code = code

    def line(self):
        return "%s [%d] %s" % (MARK, self.code, self.message)
