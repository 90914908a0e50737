{#-
    Generic test: every non-null value of the column matches the regular expression
    `pattern` (searched, so anchor it with ^ and $ to match the whole value).
-#}
{% test matches_pattern(model, column_name, pattern) %}
    select {{ column_name }}
    from {{ model }}
    where
        {{ column_name }} is not null
        and not {{ regexp_like(column_name, pattern) }}
{% endtest %}
