#!/bin/sh
echo '{"web": {"hosts": 5}}'
