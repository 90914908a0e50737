{#-
    numerator / denominator as a double, null when the denominator is 0 or null (a rate of
    nothing is unknown, not 0). Casts first: integer division truncates in PostgreSQL.
-#}
{% macro safe_ratio(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then cast({{ numerator }} as double precision) / {{ denominator }}
    end
{%- endmacro %}
