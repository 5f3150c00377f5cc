"""How the live-update engine reaches containers.

``base`` holds the ``Transport`` protocol, ``ContainerRef`` and the error taxonomy;
``docker`` implements it with the Docker exec API. Importing this package stays cheap:
the docker SDK is only imported when a ``DockerTransport`` first talks to the daemon.
"""
