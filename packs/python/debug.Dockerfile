# The support image of `devloop up --debug` for python: debugpy under /dbg,
# which an init container copies into the pod (/devloop-debug/python is put
# on PYTHONPATH). The app's own image is not changed.
FROM python:3.13-slim
RUN pip install --no-cache-dir --target /dbg/python debugpy==1.8.22 \
 && chmod -R a+rX /dbg
USER 10001
