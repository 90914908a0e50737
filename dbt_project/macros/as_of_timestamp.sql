{#-
    The run's as-of instant: midnight UTC at the start of the as-of date, as a timestamp
    without zone (every fact time in staging is UTC wall-clock time). Facts strictly before
    it count; the marts compare `<` against it and never `<=`.
-#}
{% macro as_of_timestamp() -%}
    cast({{ as_of_date() }} as timestamp)
{%- endmacro %}
