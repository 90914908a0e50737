{#-
    Onboarding: first-time buyers, welcomed and guided to a second order. In: lifecycle new
    (first order within var `lifecycle_new_days` days of the as-of date).
-#}
with

customers as (

    select * from {{ ref('customer_360') }}

),

final as (

    select {{ audience_columns('onboarding') }}
    from customers
    where lifecycle_stage = 'new'

)

select * from final
