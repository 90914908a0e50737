{#- The run's as-of date as a SQL date literal: the `as_of_date` var, or today. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date') -%}
    {%- if value -%}
        date '{{ value }}'
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}
